// crafted.h — hand-built GGUF and safetensors images, valid and hostile, for parser tests,
// CLI tests and fuzz seeds. Built byte by byte from the format specs, never by whale's writer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace whale::test {

// Little-endian byte builder.
class ByteBuilder {
 public:
  ByteBuilder& u8(std::uint8_t v) { return raw(&v, 1); }
  ByteBuilder& u16(std::uint16_t v) { return raw(&v, 2); }
  ByteBuilder& u32(std::uint32_t v) { return raw(&v, 4); }
  ByteBuilder& i32(std::int32_t v) { return raw(&v, 4); }
  ByteBuilder& u64(std::uint64_t v) { return raw(&v, 8); }
  ByteBuilder& f32(float v) { return raw(&v, 4); }
  // A GGUF string: u64 length then the bytes.
  ByteBuilder& str(std::string_view s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  ByteBuilder& raw(const void* p, std::size_t n);
  ByteBuilder& zeros(std::size_t n);
  ByteBuilder& pad_to(std::size_t alignment);
  std::size_t size() const { return bytes_.size(); }
  const std::vector<std::byte>& bytes() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

// GGUF value type codes and ggml type codes, written out here from the GGUF spec so the tests
// do not borrow the parser's own enums.
namespace gguf {
inline constexpr std::uint32_t kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5,
                               kF32 = 6, kBool = 7, kString = 8, kArray = 9, kU64 = 10,
                               kI64 = 11, kF64 = 12;
inline constexpr std::uint32_t kTypeF32 = 0, kTypeF16 = 1, kTypeQ4_0 = 2, kTypeQ8_0 = 8;
// magic, version, tensor count, kv count
ByteBuilder header(std::uint32_t version, std::uint64_t n_tensors, std::uint64_t n_kv);
// name, n_dims, dims (innermost first), type, offset
void tensor_info(ByteBuilder& b, std::string_view name, const std::vector<std::uint64_t>& dims,
                 std::uint32_t type, std::uint64_t offset);
}  // namespace gguf

// A valid GGUF v3: 2 key/values (general.architecture = "test", test.n = u32 7), 2 F32
// tensors "a" [2 x 4] at 0 and "b" [3] at 32, ending exactly at the last data byte, so every
// strict prefix is truncated somewhere that matters.
std::vector<std::byte> small_valid_gguf();

// A valid safetensors file: "w" F32 [2, 2] and "v" I8 [3], data packed with no slack.
std::vector<std::byte> small_valid_safetensors();
// A safetensors image with the given JSON header (padded with spaces to 8 bytes) and data.
std::vector<std::byte> safetensors_image(std::string_view header_json,
                                         std::size_t data_bytes);

struct CraftedFile {
  std::string name;             // short case name, also used as file stem
  std::vector<std::byte> bytes;
  std::vector<std::string> expect;  // substrings the error message must contain
};

std::vector<CraftedFile> crafted_gguf_files();
std::vector<CraftedFile> crafted_safetensors_files();

}  // namespace whale::test
