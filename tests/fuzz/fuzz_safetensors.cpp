// fuzz_safetensors.cpp — libFuzzer target: parse_safetensors on arbitrary bytes; every tensor
// it returns must lie inside the input and match its shape.
#include <cstddef>
#include <cstdint>
#include <span>

#include "format/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  auto parsed = whale::parse_safetensors(bytes);
  if (!parsed.ok()) {
    if (parsed.error().what().empty()) __builtin_trap();
    return 0;
  }
  for (const auto& t : parsed->tensors) {
    if (t.bytes.empty()) continue;
    if (t.bytes.data() < bytes.data() || t.bytes.data() + t.bytes.size() > bytes.data() + bytes.size())
      __builtin_trap();
    auto expected = whale::tensor_bytes(t.dtype, t.shape);
    if (!expected.ok() || *expected != t.bytes.size()) __builtin_trap();
  }
  return 0;
}
