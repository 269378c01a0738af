// normalizer.cpp — NFC/NFD/NFKC/NFKD through ICU's Normalizer2.
#include "tokenizer/normalizer.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace whale {
namespace {

Result<void> add_forms(const nlohmann::json& j, std::vector<UnicodeForm>& forms) {
  if (j.is_null()) return {};
  const std::string type = j.value("type", "");
  if (type == "Sequence") {
    for (const auto& child : j.at("normalizers")) WHALE_TRY_VOID(add_forms(child, forms));
  } else if (type == "NFC") {
    forms.push_back(UnicodeForm::kNfc);
  } else if (type == "NFD") {
    forms.push_back(UnicodeForm::kNfd);
  } else if (type == "NFKC") {
    forms.push_back(UnicodeForm::kNfkc);
  } else if (type == "NFKD") {
    forms.push_back(UnicodeForm::kNfkd);
  } else {
    return Error("unsupported normalizer type '{}'", type);
  }
  return {};
}

const icu::Normalizer2* instance(UnicodeForm f, UErrorCode& status) {
  switch (f) {
    case UnicodeForm::kNfc: return icu::Normalizer2::getNFCInstance(status);
    case UnicodeForm::kNfd: return icu::Normalizer2::getNFDInstance(status);
    case UnicodeForm::kNfkc: return icu::Normalizer2::getNFKCInstance(status);
    case UnicodeForm::kNfkd: return icu::Normalizer2::getNFKDInstance(status);
  }
  return nullptr;
}

}  // namespace

Result<Normalizer> Normalizer::from_json(const nlohmann::json& j) {
  Normalizer n;
  try {
    WHALE_TRY_VOID(add_forms(j, n.forms_));
  } catch (const nlohmann::json::exception& e) {
    return Error("malformed normalizer: {}", e.what());
  }
  return n;
}

Normalizer Normalizer::nfc() {
  Normalizer n;
  n.forms_.push_back(UnicodeForm::kNfc);
  return n;
}

std::string Normalizer::apply(std::string_view text) const {
  // ASCII is invariant under every Unicode normal form.
  if (forms_.empty() || std::all_of(text.begin(), text.end(),
                                    [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
    return std::string(text);
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<std::int32_t>(text.size())));
  for (UnicodeForm f : forms_) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* norm = instance(f, status);
    if (U_FAILURE(status) || norm == nullptr) continue;  // ICU data missing: leave unchanged
    icu::UnicodeString out = norm->normalize(s, status);
    if (U_SUCCESS(status)) s = out;
  }
  std::string result;
  s.toUTF8String(result);
  return result;
}

}  // namespace whale
