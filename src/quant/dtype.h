// dtype.h — every tensor element type whale knows, with its block geometry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace whale {

// Values below 100 are ggml's type ids, so a GGUF type code maps to a DType by value. The
// rest exist only in safetensors files.
enum class DType : std::uint16_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21,
  kIQ2_S = 22, kIQ4_XS = 23, kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28,
  kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35, kMXFP4 = 39,
  // safetensors-only element types
  kF8_E4M3 = 200, kF8_E5M2 = 201, kU8 = 202, kBool = 203,
};

struct DTypeTraits {
  DType dtype;
  std::string_view name;          // as ggml / safetensors spell it ("Q4_K", "F8_E4M3")
  std::int64_t block_elems;       // elements per block (1 for plain types)
  std::size_t block_bytes;        // bytes per block
  bool is_quantized;              // block-quantized (not a plain scalar type)
};

// nullptr for values that are not a known DType (an unknown GGUF type code, say).
const DTypeTraits* find_dtype_traits(std::uint32_t code);
const DTypeTraits& dtype_traits(DType t);
inline std::string_view dtype_name(DType t) { return dtype_traits(t).name; }
std::optional<DType> dtype_from_name(std::string_view name);  // case-sensitive, ggml spelling

// Bytes of `n_elems` elements of one row; nullopt when n_elems is not a whole number of blocks.
std::optional<std::size_t> row_bytes(DType t, std::int64_t n_elems);

// Every DType, in enum order (for tables and tests).
std::size_t dtype_count();
const DTypeTraits& dtype_at(std::size_t index);

}  // namespace whale
