// utf8.cpp — UTF-8 validation, decoding and lossy repair.
#include "tokenizer/utf8.h"

namespace whale {
namespace {

// The valid range of the second byte after lead byte `b0` (Unicode Table 3-7).
bool second_byte_ok(unsigned char b0, unsigned char b1) {
  if (b0 == 0xE0) return b1 >= 0xA0 && b1 <= 0xBF;
  if (b0 == 0xED) return b1 >= 0x80 && b1 <= 0x9F;
  if (b0 == 0xF0) return b1 >= 0x90 && b1 <= 0xBF;
  if (b0 == 0xF4) return b1 >= 0x80 && b1 <= 0x8F;
  return b1 >= 0x80 && b1 <= 0xBF;
}

std::size_t expected_len(unsigned char b0) {
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return 2;
  if (b0 >= 0xE0 && b0 <= 0xEF) return 3;
  if (b0 >= 0xF0 && b0 <= 0xF4) return 4;
  return 0;  // continuation byte or an invalid lead byte
}

// How many bytes from pos form a valid prefix of a sequence (at most the sequence length).
std::size_t valid_prefix(std::string_view s, std::size_t pos, std::size_t need) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  std::size_t n = 1;
  while (n < need && pos + n < s.size()) {
    const auto b = static_cast<unsigned char>(s[pos + n]);
    const bool ok = n == 1 ? second_byte_ok(b0, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) break;
    ++n;
  }
  return n;
}

}  // namespace

std::size_t utf8_valid_len(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return 0;
  const std::size_t need = expected_len(static_cast<unsigned char>(s[pos]));
  if (need == 0) return 0;
  return valid_prefix(s, pos, need) == need ? need : 0;
}

char32_t utf8_decode_at(std::string_view s, std::size_t pos, std::size_t len) {
  const auto b = [&](std::size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(s[pos + i])); };
  switch (len) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::size_t utf8_incomplete_tail(std::string_view s) {
  // A sequence is at most 4 bytes, so only a lead byte among the last 3 can start one.
  const std::size_t from = s.size() > 3 ? s.size() - 3 : 0;
  for (std::size_t pos = from; pos < s.size(); ++pos) {
    const std::size_t need = expected_len(static_cast<unsigned char>(s[pos]));
    if (need <= 1) continue;
    const std::size_t have = s.size() - pos;
    if (have < need && valid_prefix(s, pos, need) == have) return have;
  }
  return 0;
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t n = utf8_valid_len(s, pos);
    if (n > 0) {
      out.append(s.substr(pos, n));
      pos += n;
      continue;
    }
    const std::size_t need = expected_len(static_cast<unsigned char>(s[pos]));
    pos += need == 0 ? 1 : valid_prefix(s, pos, need);  // one U+FFFD per maximal subpart
    utf8_append(out, kReplacementChar);
  }
  return out;
}

}  // namespace whale
