// dequantize.cpp — dispatch of the scalar reference conversions by element type.
#include "quant/dequantize.h"

#include <cmath>
#include <cstring>

#include "quant/quant_ref.h"
#include "util/check.h"
#include "util/float_convert.h"

namespace whale {
namespace {

struct BlockCodec {
  quant_ref::DequantizeFn dequantize = nullptr;
  quant_ref::QuantizeFn quantize = nullptr;
};

// Reference codecs of the block types. Types absent here (IQ2_XS, IQ3_S, TQ1_0, ...) are refused
// at load, naming the tensor and the type.
BlockCodec block_codec(DType t) {
  namespace r = quant_ref;
  switch (t) {
    case DType::kQ4_0:
      return {r::dequantize_q4_0, r::quantize_q4_0};
    case DType::kQ4_1:
      return {r::dequantize_q4_1, r::quantize_q4_1};
    case DType::kQ5_0:
      return {r::dequantize_q5_0, r::quantize_q5_0};
    case DType::kQ5_1:
      return {r::dequantize_q5_1, r::quantize_q5_1};
    case DType::kQ8_0:
      return {r::dequantize_q8_0, r::quantize_q8_0};
    case DType::kQ8_1:
      return {r::dequantize_q8_1, r::quantize_q8_1};
    case DType::kQ2_K:
      return {r::dequantize_q2_k, r::quantize_q2_k};
    case DType::kQ3_K:
      return {r::dequantize_q3_k, r::quantize_q3_k};
    case DType::kQ4_K:
      return {r::dequantize_q4_k, r::quantize_q4_k};
    case DType::kQ5_K:
      return {r::dequantize_q5_k, r::quantize_q5_k};
    case DType::kQ6_K:
      return {r::dequantize_q6_k, r::quantize_q6_k};
    case DType::kQ8_K:
      return {r::dequantize_q8_k, r::quantize_q8_k};
    case DType::kIQ4_NL:
      return {r::dequantize_iq4_nl, r::quantize_iq4_nl};
    case DType::kIQ4_XS:
      return {r::dequantize_iq4_xs, r::quantize_iq4_xs};
    case DType::kIQ2_XXS:
      return {r::dequantize_iq2_xxs, r::quantize_iq2_xxs};
    case DType::kIQ1_S:
      return {r::dequantize_iq1_s, r::quantize_iq1_s};
    case DType::kIQ1_M:
      return {r::dequantize_iq1_m, r::quantize_iq1_m};
    default:
      return {};
  }
}

std::uint16_t load_u16(const std::byte* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

std::int64_t n_blocks(DType t, std::int64_t n) {
  const std::int64_t block = dtype_traits(t).block_elems;
  WHALE_CHECK(n >= 0 && n % block == 0, "element count is not a whole number of blocks");
  return n / block;
}

[[maybe_unused]] bool all_finite(const float* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

}  // namespace

bool has_dequantize(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kF8_E4M3:
      return true;
    default:
      return block_codec(t).dequantize != nullptr;
  }
}

void dequantize_row(DType t, const std::byte* src, float* dst, std::int64_t n) {
  const std::int64_t blocks = n_blocks(t, n);
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<std::size_t>(n) * 4);
      return;
    case DType::kF16:
      for (std::int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load_u16(src + 2 * i));
      return;
    case DType::kBF16:
      for (std::int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(src + 2 * i));
      return;
    case DType::kF8_E4M3:
      for (std::int64_t i = 0; i < n; ++i) dst[i] = e4m3_to_f32(static_cast<std::uint8_t>(src[i]));
      return;
    default: {
      const BlockCodec codec = block_codec(t);
      WHALE_CHECK(codec.dequantize != nullptr, "dequantize_row: unsupported type");
      codec.dequantize(src, dst, blocks);
    }
  }
}

bool has_quantize(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      return true;
    default:
      return block_codec(t).quantize != nullptr;
  }
}

void quantize_row(DType t, const float* src, std::byte* dst, std::int64_t n) {
  const std::int64_t blocks = n_blocks(t, n);
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<std::size_t>(n) * 4);
      return;
    case DType::kF16:
      for (std::int64_t i = 0; i < n; ++i) {
        const std::uint16_t h = f32_to_f16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case DType::kBF16:
      for (std::int64_t i = 0; i < n; ++i) {
        const std::uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    default: {
      const BlockCodec codec = block_codec(t);
      WHALE_CHECK(codec.quantize != nullptr, "quantize_row: unsupported type");
      WHALE_DCHECK(all_finite(src, n), "quantize_row: block types need finite input");
      codec.quantize(src, dst, blocks);
    }
  }
}

}  // namespace whale
