// byte_reader.h — a bounds-checked little-endian cursor over untrusted bytes. Every parser
// reads through it, so no parser indexes raw memory by a value it read from the file.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "util/status.h"

namespace whale {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  std::uint64_t offset() const { return pos_; }
  std::uint64_t remaining() const { return bytes_.size() - pos_; }
  std::span<const std::byte> bytes() const { return bytes_; }

  template <typename T>
  Result<T> read() {
    static_assert(std::is_trivially_copyable_v<T>);
    if (remaining() < sizeof(T))
      return Error("unexpected end of data at offset {} (need {} bytes, {} left)", pos_,
                   sizeof(T), remaining());
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  Result<std::span<const std::byte>> read_bytes(std::uint64_t count) {
    if (count > remaining())
      return Error("unexpected end of data at offset {} (need {} bytes, {} left)", pos_, count,
                   remaining());
    auto out = bytes_.subspan(pos_, count);
    pos_ += count;
    return out;
  }

  Result<void> seek(std::uint64_t offset) {
    if (offset > bytes_.size())
      return Error("offset {} past the end of {} bytes", offset, bytes_.size());
    pos_ = offset;
    return {};
  }

 private:
  std::span<const std::byte> bytes_;
  std::uint64_t pos_ = 0;
};

// [offset, offset + count * elem_bytes) as a span of `file`, or an error when any part of it
// (or the multiplication) falls outside.
Result<std::span<const std::byte>> checked_slice(std::span<const std::byte> file,
                                                 std::uint64_t offset, std::uint64_t count,
                                                 std::uint64_t elem_bytes);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace whale
