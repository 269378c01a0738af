// utf8.h — UTF-8 decoding helpers shared by the tokenizer and the streaming detokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace whale {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Length of the valid UTF-8 sequence starting at s[pos], or 0 when the bytes there are not a
// complete, valid sequence (truncated, overlong, surrogate or out of range).
std::size_t utf8_valid_len(std::string_view s, std::size_t pos);

// Decodes the valid sequence at s[pos] (caller checked utf8_valid_len > 0).
char32_t utf8_decode_at(std::string_view s, std::size_t pos, std::size_t len);

void utf8_append(std::string& out, char32_t cp);

// Number of bytes at the end of `s` that form a proper prefix of a valid sequence and could
// still become valid when more bytes arrive (0..3).
std::size_t utf8_incomplete_tail(std::string_view s);

// Replaces each maximal invalid subpart with U+FFFD (Unicode §3.9 "maximal subparts", as
// Rust's String::from_utf8_lossy does), keeping valid text unchanged.
std::string utf8_sanitize(std::string_view s);

}  // namespace whale
