// normalizer.h — the tokenizer.json normalizers byte-level models use (Unicode forms via ICU).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "util/status.h"

namespace whale {

enum class UnicodeForm { kNfc, kNfd, kNfkc, kNfkd };

class Normalizer {
 public:
  static Result<Normalizer> from_json(const nlohmann::json& j);  // null or empty: identity
  static Normalizer nfc();
  bool is_identity() const { return forms_.empty(); }
  std::string apply(std::string_view text) const;

 private:
  std::vector<UnicodeForm> forms_;
};

}  // namespace whale
