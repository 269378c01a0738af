// crafted.cpp — the hostile GGUF and safetensors files of the bad-input tests (issue 2, item 7).
// Each case is a minimal image with exactly one thing wrong; `expect` is what the error must say.
#include "data/bad/crafted.h"

#include <cstring>

namespace whale::test {

ByteBuilder& ByteBuilder::raw(const void* p, std::size_t n) {
  const std::size_t at = bytes_.size();
  bytes_.resize(at + n);
  if (n != 0) std::memcpy(bytes_.data() + at, p, n);
  return *this;
}

ByteBuilder& ByteBuilder::zeros(std::size_t n) {
  bytes_.resize(bytes_.size() + n, std::byte{0});
  return *this;
}

ByteBuilder& ByteBuilder::pad_to(std::size_t alignment) {
  while (bytes_.size() % alignment != 0) bytes_.push_back(std::byte{0});
  return *this;
}

namespace gguf {

ByteBuilder header(std::uint32_t version, std::uint64_t n_tensors, std::uint64_t n_kv) {
  ByteBuilder b;
  b.raw("GGUF", 4).u32(version).u64(n_tensors).u64(n_kv);
  return b;
}

void tensor_info(ByteBuilder& b, std::string_view name, const std::vector<std::uint64_t>& dims,
                 std::uint32_t type, std::uint64_t offset) {
  b.str(name).u32(static_cast<std::uint32_t>(dims.size()));
  for (auto d : dims) b.u64(d);
  b.u32(type).u64(offset);
}

}  // namespace gguf

std::vector<std::byte> small_valid_gguf() {
  ByteBuilder b = gguf::header(3, 2, 2);
  b.str("general.architecture").u32(gguf::kString).str("test");
  b.str("test.n").u32(gguf::kU32).u32(7);
  gguf::tensor_info(b, "a", {4, 2}, gguf::kTypeF32, 0);
  gguf::tensor_info(b, "b", {3}, gguf::kTypeF32, 32);
  b.pad_to(32);
  for (int i = 0; i < 8; ++i) b.f32(static_cast<float>(i));
  for (int i = 0; i < 3; ++i) b.f32(10.0f + static_cast<float>(i));
  return b.bytes();
}

std::vector<std::byte> safetensors_image(std::string_view header_json, std::size_t data_bytes) {
  std::string h(header_json);
  while (h.size() % 8 != 0) h.push_back(' ');
  ByteBuilder b;
  b.u64(h.size()).raw(h.data(), h.size());
  for (std::size_t i = 0; i < data_bytes; ++i) b.u8(static_cast<std::uint8_t>(i * 7 + 1));
  return b.bytes();
}

std::vector<std::byte> small_valid_safetensors() {
  return safetensors_image(
      R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("v":{"dtype":"I8","shape":[3],"data_offsets":[16,19]}})",
      19);
}

namespace {

constexpr std::uint64_t k2p40 = std::uint64_t{1} << 40;

// One tensor at offset `offset`, no metadata, then `data_bytes` zero bytes after the padding.
std::vector<std::byte> one_tensor(std::string_view name, const std::vector<std::uint64_t>& dims,
                                  std::uint32_t type, std::uint64_t offset,
                                  std::size_t data_bytes) {
  ByteBuilder b = gguf::header(3, 1, 0);
  gguf::tensor_info(b, name, dims, type, offset);
  b.pad_to(32).zeros(data_bytes);
  return b.bytes();
}

// One key/value whose type code and value bytes are written by `value`.
template <typename F>
std::vector<std::byte> one_kv(std::string_view key, std::uint32_t type, F&& value) {
  ByteBuilder b = gguf::header(3, 0, 1);
  b.str(key).u32(type);
  value(b);
  return b.bytes();
}

}  // namespace

std::vector<CraftedFile> crafted_gguf_files() {
  using namespace gguf;
  std::vector<CraftedFile> out;
  auto add = [&](std::string name, std::vector<std::byte> bytes, std::vector<std::string> expect) {
    out.push_back({std::move(name), std::move(bytes), std::move(expect)});
  };

  add("gguf_empty", {}, {"unexpected end of data"});
  {
    ByteBuilder b;
    b.raw("GGUX", 4).u32(3).u64(0).u64(0);
    add("gguf_wrong_magic", b.bytes(), {"not a GGUF file", "0x58554747"});
  }
  add("gguf_version_1", header(1, 0, 0).bytes(), {"unsupported GGUF version 1"});
  add("gguf_version_99", header(99, 0, 0).bytes(), {"unsupported GGUF version 99"});
  add("gguf_tensor_count_2p40", header(3, k2p40, 0).bytes(),
      {"tensor count 1099511627776 exceeds"});
  add("gguf_kv_count_2p40", header(3, 0, k2p40).bytes(), {"metadata count 1099511627776 exceeds"});
  add("gguf_kv_count_past_end", header(3, 0, 5).bytes(), {"metadata entry 0", "unexpected end"});
  {
    ByteBuilder b = header(3, 0, 1);
    b.u64(std::uint64_t{1} << 63).raw("k", 1);
    add("gguf_key_length_2p63", b.bytes(), {"need 9223372036854775808 bytes"});
  }
  add("gguf_string_value_2p63",
      one_kv("k", kString, [](ByteBuilder& b) { b.u64(std::uint64_t{1} << 63).raw("abc", 3); }),
      {"metadata key 'k'", "need 9223372036854775808 bytes"});
  add("gguf_array_count_2p62",
      one_kv("arr", kArray, [](ByteBuilder& b) { b.u32(kU8).u64(std::uint64_t{1} << 62).u8(1); }),
      {"metadata key 'arr'", "array of 4611686018427387904", "cannot fit"});
  add("gguf_string_array_count_2p40",
      one_kv("toks", kArray, [](ByteBuilder& b) { b.u32(kString).u64(k2p40).str("a"); }),
      {"array of 1099511627776 string", "cannot fit"});
  add("gguf_nested_arrays_too_deep", one_kv("deep", kArray, [](ByteBuilder& b) {
        for (int level = 0; level < 4; ++level) b.u32(kArray).u64(1);
        b.u32(kU8).u64(0);
      }),
      {"metadata key 'deep'", "nested deeper than 4"});
  add("gguf_bad_bool", one_kv("b", kBool, [](ByteBuilder& b) { b.u8(2); }),
      {"metadata key 'b'", "bool value 2 is neither 0 nor 1"});
  add("gguf_bad_bool_in_array",
      one_kv("bs", kArray, [](ByteBuilder& b) { b.u32(kBool).u64(2).u8(1).u8(7); }),
      {"array element 1", "bool value 7"});
  add("gguf_unknown_value_type", one_kv("k", 13, [](ByteBuilder& b) { b.u32(0); }),
      {"metadata key 'k'", "unknown value type 13"});
  add("gguf_unknown_array_elem_type",
      one_kv("k", kArray, [](ByteBuilder& b) { b.u32(77).u64(1).u32(0); }),
      {"unknown array element type 77"});
  add("gguf_empty_key", one_kv("", kU32, [](ByteBuilder& b) { b.u32(1); }),
      {"metadata entry 0 has a key of 0 bytes"});
  add("gguf_bad_utf8_key", one_kv("\xff\xfe", kU32, [](ByteBuilder& b) { b.u32(1); }),
      {"key is not valid UTF-8"});
  add("gguf_overlong_utf8_key", one_kv("a\xc0\xaf", kU32, [](ByteBuilder& b) { b.u32(1); }),
      {"key is not valid UTF-8"});
  add("gguf_surrogate_utf8_key", one_kv("\xed\xa0\x80", kU32, [](ByteBuilder& b) { b.u32(1); }),
      {"key is not valid UTF-8"});
  add("gguf_truncated_utf8_key", one_kv("ab\xe2\x82", kU32, [](ByteBuilder& b) { b.u32(1); }),
      {"key is not valid UTF-8"});
  {
    ByteBuilder b = header(3, 0, 2);
    b.str("k").u32(kU32).u32(1);
    b.str("k").u32(kU32).u32(2);
    add("gguf_duplicate_key", b.bytes(), {"duplicate metadata key 'k'"});
  }
  add("gguf_alignment_not_pow2",
      one_kv("general.alignment", kU32, [](ByteBuilder& b) { b.u32(48); }),
      {"general.alignment 48 is not a power of two"});
  add("gguf_alignment_zero", one_kv("general.alignment", kU32, [](ByteBuilder& b) { b.u32(0); }),
      {"general.alignment 0 is not a power of two"});
  add("gguf_alignment_string",
      one_kv("general.alignment", kString, [](ByteBuilder& b) { b.str("32"); }),
      {"general.alignment", "expected an integer"});

  add("gguf_n_dims_0", one_tensor("t", {}, kTypeF32, 0, 32), {"tensor 't'", "0 dimensions"});
  add("gguf_n_dims_5", one_tensor("t", {1, 1, 1, 1, 1}, kTypeF32, 0, 32),
      {"tensor 't'", "5 dimensions"});
  add("gguf_dim_zero", one_tensor("t", {4, 0}, kTypeF32, 0, 32),
      {"tensor 't'", "dimension 1 has size 0"});
  add("gguf_dim_2p50", one_tensor("t", {std::uint64_t{1} << 50}, kTypeF32, 0, 32),
      {"dimension 0 has size 1125899906842624"});
  add("gguf_dims_product_overflow", one_tensor("t", {k2p40, k2p40, k2p40}, kTypeF32, 0, 32),
      {"tensor 't'", "too many elements"});
  add("gguf_dims_product_2p64", one_tensor("t", {std::uint64_t{1} << 48, 1 << 16}, kTypeF32, 0, 32),
      {"tensor 't'", "too many elements"});
  add("gguf_unknown_type_99", one_tensor("t", {4}, 99, 0, 32), {"tensor 't'", "unknown ggml type 99"});
  add("gguf_removed_type_4", one_tensor("t", {32}, 4, 0, 32), {"unknown ggml type 4"});
  add("gguf_st_only_type_200", one_tensor("t", {4}, 200, 0, 32), {"unknown ggml type 200"});
  add("gguf_block_mismatch", one_tensor("t", {31}, kTypeQ4_0, 0, 32),
      {"tensor 't'", "row length 31 is not a multiple of the Q4_0 block size 32"});
  add("gguf_misaligned_offset", one_tensor("t", {4}, kTypeF32, 4, 64),
      {"tensor 't'", "data offset 4 is not a multiple of the alignment 32"});
  add("gguf_offset_past_end", one_tensor("t", {4}, kTypeF32, 1024, 32),
      {"tensor 't'", "outside the file"});
  add("gguf_data_truncated", one_tensor("t", {64}, kTypeF32, 0, 100),
      {"tensor 't' (256 bytes at data offset 0): file truncated?"});
  add("gguf_offset_overflow", one_tensor("t", {4}, kTypeF32, ~std::uint64_t{31}, 32),
      {"tensor 't' offset overflows"});
  {
    ByteBuilder b = header(3, 1, 0);
    tensor_info(b, "t", {1}, kTypeF32, 0);  // header ends at 57, data would start at 64
    add("gguf_data_section_past_end", b.bytes(), {"data section would start at 64"});
  }
  {
    ByteBuilder b = header(3, 2, 0);
    tensor_info(b, "t", {4}, kTypeF32, 0);
    tensor_info(b, "t", {4}, kTypeF32, 32);
    b.pad_to(32).zeros(64);
    add("gguf_duplicate_tensor", b.bytes(), {"duplicate tensor name 't'"});
  }
  add("gguf_bad_utf8_tensor_name", one_tensor("w\xff", {4}, kTypeF32, 0, 32),
      {"tensor info 0 has an invalid name"});
  add("gguf_empty_tensor_name", one_tensor("", {4}, kTypeF32, 0, 32),
      {"tensor info 0 has an invalid name"});
  {
    ByteBuilder b = header(3, 2, 0);
    tensor_info(b, "t", {4}, kTypeF32, 0);
    b.u64(40).raw("xxxxxxxxxxxxxxxxxxxxxxxxx", 25);  // a 40-byte name with 25 bytes left
    add("gguf_tensor_infos_past_end", b.bytes(), {"tensor info 1", "unexpected end"});
  }
  {
    ByteBuilder b = header(3, 3, 0);
    tensor_info(b, "t", {4}, kTypeF32, 0);
    add("gguf_tensor_count_past_end", b.bytes(), {"tensor count 3 cannot fit in the 33 bytes left"});
  }
  return out;
}

std::vector<CraftedFile> crafted_safetensors_files() {
  std::vector<CraftedFile> out;
  auto add = [&](std::string name, std::vector<std::byte> bytes, std::vector<std::string> expect) {
    out.push_back({std::move(name), std::move(bytes), std::move(expect)});
  };
  auto image = [](std::string_view json, std::size_t data) { return safetensors_image(json, data); };

  {
    ByteBuilder b;
    b.u32(8);
    add("st_too_short", b.bytes(), {"unexpected end of data"});
  }
  {
    ByteBuilder b;
    b.u64(k2p40).raw("{}      ", 8);
    add("st_header_len_huge", b.bytes(), {"header length 1099511627776 exceeds the 100 MB limit"});
  }
  {
    ByteBuilder b;
    b.u64(1000).raw("{}      ", 8);
    add("st_header_len_past_end", b.bytes(), {"header length 1000 is past the end of the 16 byte file"});
  }
  add("st_header_not_json", image("{not json", 0), {"header is not valid JSON"});
  add("st_header_truncated_json", image(R"({"t":{"dtype":"F32",)", 0), {"header is not valid JSON"});
  add("st_header_not_object", image("[1, 2]", 0), {"header is not a JSON object"});
  add("st_header_bad_utf8", image("{\"\xff\": 1}", 0), {"header is not valid UTF-8"});
  add("st_unknown_dtype", image(R"({"t":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4),
      {"tensor 't'", "unsupported dtype 'F7'"});
  add("st_shape_offset_mismatch",
      image(R"({"t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}})", 16),
      {"tensor 't'", "data_offsets [0, 8) hold 8 bytes, the shape needs 16"});
  add("st_offsets_past_end", image(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
      {"tensor 't'", "file truncated?", "outside the file"});
  add("st_offset_2p63",
      image(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[9223372036854775808,9223372036854775824]}})", 16),
      {"tensor 't'", "outside the file"});
  add("st_offsets_backwards", image(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", 16),
      {"tensor 't'", "run backwards"});
  add("st_duplicate_names",
      image(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
            R"("t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
      {"duplicate tensor name 't'"});
  add("st_entry_number", image(R"({"t": 5})", 0), {"tensor 't'", "entry is not an object"});
  add("st_entry_array", image(R"({"t": [1, 2]})", 0), {"tensor 't'", "entry is not an object"});
  add("st_missing_dtype", image(R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4),
      {"missing or non-string dtype"});
  add("st_dtype_number", image(R"({"t":{"dtype":1,"shape":[1],"data_offsets":[0,4]}})", 4),
      {"missing or non-string dtype"});
  add("st_shape_not_array", image(R"({"t":{"dtype":"F32","shape":4,"data_offsets":[0,16]}})", 16),
      {"missing shape array"});
  add("st_offsets_not_pair", image(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
      {"data_offsets is not a [begin, end] pair"});
  add("st_offset_negative", image(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4),
      {"data_offsets[0] is not a non-negative integer"});
  add("st_negative_dim", image(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
      {"a shape dimension is not a non-negative integer"});
  add("st_float_dim", image(R"({"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4),
      {"a shape dimension is not a non-negative integer"});
  add("st_dim_2p60",
      image(R"({"t":{"dtype":"U8","shape":[1152921504606846976],"data_offsets":[0,4]}})", 4),
      {"dimension 1152921504606846976 is absurd"});
  add("st_dims_overflow",
      image(R"({"t":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4),
      {"too many elements"});
  add("st_too_many_dims",
      image(R"({"t":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})", 1),
      {"9 dimensions"});
  add("st_metadata_not_object", image(R"({"__metadata__": 5})", 0), {"__metadata__ is not an object"});
  add("st_metadata_value_not_string", image(R"({"__metadata__": {"format": 1}})", 0),
      {"__metadata__ value 'format' is not a string"});
  return out;
}

}  // namespace whale::test
