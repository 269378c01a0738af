// byte_level.cpp — the byte <-> character table of byte-level BPE.
#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace whale {
namespace {
bool maps_to_itself(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}
}  // namespace

ByteLevelAlphabet::ByteLevelAlphabet() {
  char32_t next = 256;
  for (unsigned b = 0; b < 256; ++b) {
    if (!maps_to_itself(b)) remapped_bytes_[next - 256] = static_cast<unsigned char>(b);
    code_points_[b] = maps_to_itself(b) ? static_cast<char32_t>(b) : next++;
    utf8_append(encoded_[b], code_points_[b]);
  }
}

std::string ByteLevelAlphabet::encode(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += encoded_[static_cast<unsigned char>(c)];
  return out;
}

std::optional<std::string> ByteLevelAlphabet::decode(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t n = utf8_valid_len(text, pos);
    if (n == 0) return std::nullopt;
    const char32_t cp = utf8_decode_at(text, pos, n);
    pos += n;
    if (cp < 256 && maps_to_itself(cp)) {
      out += static_cast<char>(cp);
      continue;
    }
    if (cp < 256 || cp >= 256 + 68) return std::nullopt;
    out += static_cast<char>(remapped_bytes_[cp - 256]);
  }
  return out;
}

const ByteLevelAlphabet& byte_level_alphabet() {
  static const ByteLevelAlphabet alphabet;
  return alphabet;
}

}  // namespace whale
