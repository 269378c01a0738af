// tokenizer.cpp — the encode pipeline (added tokens, normalizer, pre-tokenizer, BPE) and decode.
#include "tokenizer/tokenizer.h"

#include <unordered_map>

#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer_parts.h"
#include "tokenizer/utf8.h"

namespace whale {

struct Tokenizer::Impl {
  BpeModel bpe;
  PreTokenizer pre_tokenizer;
  Normalizer normalizer;
  AddedTokenMatcher raw_matcher;         // added tokens with normalized = false
  AddedTokenMatcher normalized_matcher;  // ... with normalized = true
  std::unordered_map<std::int32_t, AddedToken> added;  // by id
  std::optional<std::int32_t> bos_id, eos_id, pad_id;
  bool add_bos = false, add_eos = false;
  std::string chat_template;

  void encode_text(std::string_view text, bool parse_special, std::vector<std::int32_t>& out) const;
  void encode_normalized(std::string_view text, std::vector<std::int32_t>& out) const;
};

Result<Tokenizer> build_tokenizer(TokenizerParts parts) {
  const auto n = static_cast<std::int64_t>(parts.tokens.size());
  auto in_range = [&](std::optional<std::int32_t> id) { return !id || (*id >= 0 && *id < n); };
  if (!in_range(parts.bos_id) || !in_range(parts.eos_id) || !in_range(parts.pad_id))
    return Error("bos/eos/pad id outside the vocabulary of {} tokens", n);
  for (const AddedToken& t : parts.added)
    if (t.id < 0 || t.id >= n) return Error("added token '{}' has id {} outside the vocabulary", t.content, t.id);
  WHALE_TRY(BpeModel bpe, BpeModel::build(std::move(parts.tokens), parts.merges, parts.ignore_merges));
  auto impl = std::unique_ptr<Tokenizer::Impl>(new Tokenizer::Impl{
      std::move(bpe), std::move(parts.pre_tokenizer), std::move(parts.normalizer), {}, {}, {},
      parts.bos_id, parts.eos_id, parts.pad_id, parts.add_bos, parts.add_eos,
      std::move(parts.chat_template)});
  std::vector<AddedToken> raw, normalized;
  for (const AddedToken& t : parts.added) {
    (t.normalized && !impl->normalizer.is_identity() ? normalized : raw).push_back(t);
    impl->added.emplace(t.id, t);
  }
  impl->raw_matcher = AddedTokenMatcher(std::move(raw));
  impl->normalized_matcher = AddedTokenMatcher(std::move(normalized));
  return Tokenizer(std::move(impl));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

void Tokenizer::Impl::encode_normalized(std::string_view text, std::vector<std::int32_t>& out) const {
  for (const std::string& word : pre_tokenizer.split(text)) bpe.encode_word(word, out);
}

// Hugging Face order: split on raw-text added tokens, normalize what is left, split that on
// normalized added tokens, then pre-tokenize and run BPE.
void Tokenizer::Impl::encode_text(std::string_view text, bool parse_special,
                                  std::vector<std::int32_t>& out) const {
  std::vector<TextSegment> segments;
  raw_matcher.split(text, parse_special, segments);
  std::vector<TextSegment> inner;
  for (const TextSegment& seg : segments) {
    if (seg.token_id >= 0) {
      out.push_back(seg.token_id);
      continue;
    }
    const std::string norm = normalizer.apply(seg.text);
    inner.clear();
    normalized_matcher.split(norm, parse_special, inner);
    for (const TextSegment& s : inner) {
      if (s.token_id >= 0) out.push_back(s.token_id);
      else encode_normalized(s.text, out);
    }
  }
}

Result<std::vector<std::int32_t>> Tokenizer::encode(std::string_view text,
                                                    const EncodeOptions& options) const {
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (options.add_bos.value_or(impl_->add_bos)) {
    if (!impl_->bos_id) return Error("BOS requested but the tokenizer has no BOS token");
    ids.push_back(*impl_->bos_id);
  }
  impl_->encode_text(text, options.parse_special, ids);
  if (impl_->add_eos && impl_->eos_id) ids.push_back(*impl_->eos_id);
  return ids;
}

std::string Tokenizer::token_bytes(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->bpe.size()) return {};
  const std::string& text = impl_->bpe.token(id);
  // As HF's ByteLevel decoder: a token with a character outside the byte alphabet (an added
  // token such as <｜User｜>) stands for its own UTF-8 bytes.
  auto bytes = byte_level_alphabet().decode(text);
  return bytes ? std::move(*bytes) : text;
}

Result<std::string> Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (std::int32_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= impl_->bpe.size())
      return Error("token id {} outside the vocabulary of {} tokens", id, impl_->bpe.size());
    if (skip_special && is_special(id)) continue;
    bytes += token_bytes(id);
  }
  return utf8_sanitize(bytes);
}

std::string Tokenizer::token_text(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->bpe.size()) return {};
  return impl_->bpe.token(id);
}

std::optional<std::int32_t> Tokenizer::token_id(std::string_view token_text) const {
  const std::int32_t id = impl_->bpe.find(token_text);
  if (id < 0) return std::nullopt;
  return id;
}

bool Tokenizer::is_special(std::int32_t id) const {
  auto it = impl_->added.find(id);
  return it != impl_->added.end() && it->second.special;
}

std::size_t Tokenizer::vocab_size() const { return impl_->bpe.size(); }
std::optional<std::int32_t> Tokenizer::bos_id() const { return impl_->bos_id; }
std::optional<std::int32_t> Tokenizer::eos_id() const { return impl_->eos_id; }
std::optional<std::int32_t> Tokenizer::pad_id() const { return impl_->pad_id; }
bool Tokenizer::add_bos_default() const { return impl_->add_bos; }
bool Tokenizer::add_eos_default() const { return impl_->add_eos; }
std::string Tokenizer::bos_token() const { return impl_->bos_id ? token_text(*impl_->bos_id) : ""; }
std::string Tokenizer::eos_token() const { return impl_->eos_id ? token_text(*impl_->eos_id) : ""; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }

}  // namespace whale
