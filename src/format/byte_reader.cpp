// byte_reader.cpp — overflow-checked slicing and UTF-8 validation for parsers.
#include "format/byte_reader.h"

namespace whale {

Result<std::span<const std::byte>> checked_slice(std::span<const std::byte> file,
                                                 std::uint64_t offset, std::uint64_t count,
                                                 std::uint64_t elem_bytes) {
  std::uint64_t size = 0;
  if (__builtin_mul_overflow(count, elem_bytes, &size) || offset > file.size() ||
      size > file.size() - offset)
    return Error("data [{} + {} x {}) lies outside the file of {} bytes", offset, count,
                 elem_bytes, file.size());
  return file.subspan(offset, size);
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
      return false;  // overlong
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

}  // namespace whale
