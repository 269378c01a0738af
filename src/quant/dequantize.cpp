// dequantize.cpp — dispatch of the scalar reference conversions by element type.
#include "quant/dequantize.h"

#include <cmath>
#include <cstring>

#include "util/check.h"
#include "util/float_convert.h"

namespace whale {
namespace {

std::uint16_t load_u16(const std::byte* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Q8_0: blocks of 32 values: an f16 scale d, then 32 signed bytes q; x = d * q.
void dequantize_q8_0(const std::byte* src, float* dst, std::int64_t n) {
  for (std::int64_t b = 0; b < n / 32; ++b) {
    const std::byte* blk = src + b * 34;
    const float d = f16_to_f32(load_u16(blk));
    for (int i = 0; i < 32; ++i)
      dst[b * 32 + i] = d * static_cast<float>(static_cast<std::int8_t>(blk[2 + i]));
  }
}

// Q8_0 quantizer: d = max|x| / 127, q = round(x / d) (round half away from zero).
void quantize_q8_0(const float* src, std::byte* dst, std::int64_t n) {
  for (std::int64_t b = 0; b < n / 32; ++b) {
    const float* x = src + b * 32;
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    std::byte* blk = dst + b * 34;
    const std::uint16_t dh = f32_to_f16(d);
    std::memcpy(blk, &dh, 2);
    for (int i = 0; i < 32; ++i)
      blk[2 + i] = static_cast<std::byte>(static_cast<std::int8_t>(std::lround(x[i] * id)));
  }
}

}  // namespace

bool has_dequantize(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kF8_E4M3:
    case DType::kQ8_0:
      return true;
    default:
      return false;
  }
}

void dequantize_row(DType t, const std::byte* src, float* dst, std::int64_t n) {
  WHALE_CHECK(n % dtype_traits(t).block_elems == 0);
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
    case DType::kQ8_0:
      dequantize_q8_0(src, dst, n);
      return;
    default:
      WHALE_CHECK(false, "dequantize_row: unsupported type");
  }
}

bool has_quantize(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0:
      return true;
    default:
      return false;
  }
}

void quantize_row(DType t, const float* src, std::byte* dst, std::int64_t n) {
  WHALE_CHECK(n % dtype_traits(t).block_elems == 0);
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
    case DType::kQ8_0:
      quantize_q8_0(src, dst, n);
      return;
    default:
      WHALE_CHECK(false, "quantize_row: unsupported type");
  }
}

}  // namespace whale
