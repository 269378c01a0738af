// dtype.cpp — the block geometry table. Block sizes are from the GGUF specification and the
// ggml block struct layouts (e.g. Q4_K: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes).
#include "quant/dtype.h"

#include <array>

#include "util/check.h"

namespace whale {
namespace {

constexpr std::array kTraits = {
    DTypeTraits{DType::kF32, "F32", 1, 4, false},
    DTypeTraits{DType::kF16, "F16", 1, 2, false},
    DTypeTraits{DType::kQ4_0, "Q4_0", 32, 18, true},
    DTypeTraits{DType::kQ4_1, "Q4_1", 32, 20, true},
    DTypeTraits{DType::kQ5_0, "Q5_0", 32, 22, true},
    DTypeTraits{DType::kQ5_1, "Q5_1", 32, 24, true},
    DTypeTraits{DType::kQ8_0, "Q8_0", 32, 34, true},
    DTypeTraits{DType::kQ8_1, "Q8_1", 32, 36, true},
    DTypeTraits{DType::kQ2_K, "Q2_K", 256, 84, true},
    DTypeTraits{DType::kQ3_K, "Q3_K", 256, 110, true},
    DTypeTraits{DType::kQ4_K, "Q4_K", 256, 144, true},
    DTypeTraits{DType::kQ5_K, "Q5_K", 256, 176, true},
    DTypeTraits{DType::kQ6_K, "Q6_K", 256, 210, true},
    DTypeTraits{DType::kQ8_K, "Q8_K", 256, 292, true},
    DTypeTraits{DType::kIQ2_XXS, "IQ2_XXS", 256, 66, true},
    DTypeTraits{DType::kIQ2_XS, "IQ2_XS", 256, 74, true},
    DTypeTraits{DType::kIQ3_XXS, "IQ3_XXS", 256, 98, true},
    DTypeTraits{DType::kIQ1_S, "IQ1_S", 256, 50, true},
    DTypeTraits{DType::kIQ4_NL, "IQ4_NL", 32, 18, true},
    DTypeTraits{DType::kIQ3_S, "IQ3_S", 256, 110, true},
    DTypeTraits{DType::kIQ2_S, "IQ2_S", 256, 82, true},
    DTypeTraits{DType::kIQ4_XS, "IQ4_XS", 256, 136, true},
    DTypeTraits{DType::kI8, "I8", 1, 1, false},
    DTypeTraits{DType::kI16, "I16", 1, 2, false},
    DTypeTraits{DType::kI32, "I32", 1, 4, false},
    DTypeTraits{DType::kI64, "I64", 1, 8, false},
    DTypeTraits{DType::kF64, "F64", 1, 8, false},
    DTypeTraits{DType::kIQ1_M, "IQ1_M", 256, 56, true},
    DTypeTraits{DType::kBF16, "BF16", 1, 2, false},
    DTypeTraits{DType::kTQ1_0, "TQ1_0", 256, 54, true},
    DTypeTraits{DType::kTQ2_0, "TQ2_0", 256, 66, true},
    DTypeTraits{DType::kMXFP4, "MXFP4", 32, 17, true},
    DTypeTraits{DType::kF8_E4M3, "F8_E4M3", 1, 1, false},
    DTypeTraits{DType::kF8_E5M2, "F8_E5M2", 1, 1, false},
    DTypeTraits{DType::kU8, "U8", 1, 1, false},
    DTypeTraits{DType::kBool, "BOOL", 1, 1, false},
};

}  // namespace

const DTypeTraits* find_dtype_traits(std::uint32_t code) {
  for (const auto& t : kTraits)
    if (static_cast<std::uint32_t>(t.dtype) == code) return &t;
  return nullptr;
}

const DTypeTraits& dtype_traits(DType t) {
  const DTypeTraits* traits = find_dtype_traits(static_cast<std::uint32_t>(t));
  WHALE_CHECK(traits != nullptr, "DType without traits");
  return *traits;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& t : kTraits)
    if (t.name == name) return t.dtype;
  return std::nullopt;
}

std::optional<std::size_t> row_bytes(DType t, std::int64_t n_elems) {
  const DTypeTraits& tr = dtype_traits(t);
  if (n_elems < 0 || n_elems % tr.block_elems != 0) return std::nullopt;
  return static_cast<std::size_t>(n_elems / tr.block_elems) * tr.block_bytes;
}

std::size_t dtype_count() { return kTraits.size(); }
const DTypeTraits& dtype_at(std::size_t index) { return kTraits.at(index); }

}  // namespace whale
