// byte_level.h — GPT-2's byte-level alphabet: each byte as one printable Unicode character.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace whale {

// Bytes that are printable Latin-1 map to themselves; the other 68 map to U+0100 upward in
// byte order (the mapping Hugging Face's ByteLevel pre-tokenizer and decoder use).
class ByteLevelAlphabet {
 public:
  ByteLevelAlphabet();
  // The UTF-8 encoding of the character standing for `b`.
  std::string_view encode_byte(unsigned char b) const { return encoded_[b]; }
  std::string encode(std::string_view bytes) const;
  // Maps a byte-level string back to bytes; nullopt when a character is outside the alphabet.
  std::optional<std::string> decode(std::string_view text) const;

 private:
  std::array<std::string, 256> encoded_;
  std::array<char32_t, 256> code_points_{};
  std::array<unsigned char, 68> remapped_bytes_{};  // byte of U+0100 + i
};

const ByteLevelAlphabet& byte_level_alphabet();  // immutable after first use

}  // namespace whale
