// legacy_ref.cpp — scalar reference (de)quantizers for the 32-element legacy ggml types.
// The dequantizers evaluate exactly the expressions of the format definition (same f32
// operations in the same order), so results are bit-identical to ggml's. The quantizers use
// ggml's reference scheme: the scale maps the signed absolute maximum to the most negative
// level (Q4_0, Q5_0), or [min, max] onto the level range (Q4_1, Q5_1).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "quant/blocks.h"
#include "quant/quant_ref.h"
#include "util/float_convert.h"

namespace whale::quant_ref {
namespace {

float f16(std::uint16_t h) { return f16_to_f32(h); }

// The element with the largest magnitude, sign kept (ties keep the first).
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

struct MinMax {
  float min, max;
};
MinMax min_max(const float* x, int n) {
  MinMax r{std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()};
  for (int j = 0; j < n; ++j) {
    r.min = std::min(r.min, x[j]);
    r.max = std::max(r.max, x[j]);
  }
  return r;
}

// Level for a value already shifted into [0, levels - 1 + 0.5]: truncation after adding 0.5
// is round-half-up, and the clamp only catches the top edge.
int level(float shifted, int top) { return std::min(top, static_cast<int>(shifted)); }

std::uint32_t load_qh(const std::array<std::uint8_t, 4>& qh) {
  return static_cast<std::uint32_t>(qh[0]) | (static_cast<std::uint32_t>(qh[1]) << 8) |
         (static_cast<std::uint32_t>(qh[2]) << 16) | (static_cast<std::uint32_t>(qh[3]) << 24);
}
std::array<std::uint8_t, 4> store_qh(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8),
          static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)};
}

}  // namespace

void dequantize_q4_0(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ4_0>(src, b);
    const float d = f16(blk.d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>((blk.qs[j] & 0xF) - 8) * d;
      dst[j + kQK / 2] = static_cast<float>((blk.qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ4_1>(src, b);
    const float d = f16(blk.d), m = f16(blk.m);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>(blk.qs[j] & 0xF) * d + m;
      dst[j + kQK / 2] = static_cast<float>(blk.qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_q5_0(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ5_0>(src, b);
    const float d = f16(blk.d);
    const std::uint32_t qh = load_qh(blk.qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
      const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
      dst[j] = static_cast<float>(((blk.qs[j] & 0xF) | h0) - 16) * d;
      dst[j + kQK / 2] = static_cast<float>(((blk.qs[j] >> 4) | h1) - 16) * d;
    }
  }
}

void dequantize_q5_1(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ5_1>(src, b);
    const float d = f16(blk.d), m = f16(blk.m);
    const std::uint32_t qh = load_qh(blk.qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
      const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
      dst[j] = static_cast<float>((blk.qs[j] & 0xF) | h0) * d + m;
      dst[j + kQK / 2] = static_cast<float>((blk.qs[j] >> 4) | h1) * d + m;
    }
  }
}

void dequantize_q8_0(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ8_0>(src, b);
    const float d = f16(blk.d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(blk.qs[j]) * d;
  }
}

void dequantize_q8_1(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK) {
    const auto blk = load_block<BlockQ8_1>(src, b);
    const float d = f16(blk.d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(blk.qs[j]) * d;
  }
}

void quantize_q4_0(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK) {
    const float d = signed_absmax(src, kQK) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 blk{};
    blk.d = f32_to_f16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = level(src[j] * id + 8.5f, 15);
      const int q1 = level(src[j + kQK / 2] * id + 8.5f, 15);
      blk.qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
    }
    store_block(blk, dst, b);
  }
}

void quantize_q4_1(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK) {
    const MinMax mm = min_max(src, kQK);
    const float d = (mm.max - mm.min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_1 blk{};
    blk.d = f32_to_f16(d);
    blk.m = f32_to_f16(mm.min);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = level((src[j] - mm.min) * id + 0.5f, 15);
      const int q1 = level((src[j + kQK / 2] - mm.min) * id + 0.5f, 15);
      blk.qs[j] = static_cast<std::uint8_t>(q0 | (q1 << 4));
    }
    store_block(blk, dst, b);
  }
}

void quantize_q5_0(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK) {
    const float d = signed_absmax(src, kQK) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_0 blk{};
    blk.d = f32_to_f16(d);
    std::uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = level(src[j] * id + 16.5f, 31);
      const int q1 = level(src[j + kQK / 2] * id + 16.5f, 31);
      blk.qs[j] = static_cast<std::uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= static_cast<std::uint32_t>(q0 >> 4) << j;
      qh |= static_cast<std::uint32_t>(q1 >> 4) << (j + 16);
    }
    blk.qh = store_qh(qh);
    store_block(blk, dst, b);
  }
}

void quantize_q5_1(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK) {
    const MinMax mm = min_max(src, kQK);
    const float d = (mm.max - mm.min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_1 blk{};
    blk.d = f32_to_f16(d);
    blk.m = f32_to_f16(mm.min);
    std::uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = level((src[j] - mm.min) * id + 0.5f, 31);
      const int q1 = level((src[j + kQK / 2] - mm.min) * id + 0.5f, 31);
      blk.qs[j] = static_cast<std::uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      qh |= static_cast<std::uint32_t>(q0 >> 4) << j;
      qh |= static_cast<std::uint32_t>(q1 >> 4) << (j + 16);
    }
    blk.qh = store_qh(qh);
    store_block(blk, dst, b);
  }
}

// Q8_0 / Q8_1: d = max|x| / 127, q = round(x / d) with halves away from zero. Fills d and qs of
// either block and returns d as computed (Q8_1's sum is scaled by it, not by its f16 copy).
template <class Block>
float fill_q8(const float* src, Block& blk) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  blk.d = f32_to_f16(d);
  for (int j = 0; j < kQK; ++j) blk.qs[j] = static_cast<std::int8_t>(std::lround(src[j] * id));
  return d;
}

void quantize_q8_0(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK) {
    BlockQ8_0 blk{};
    fill_q8(src, blk);
    store_block(blk, dst, b);
  }
}

void quantize_q8_1(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK) {
    BlockQ8_1 blk{};
    const float d = fill_q8(src, blk);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += blk.qs[j];
    blk.s = f32_to_f16(static_cast<float>(sum) * d);
    store_block(blk, dst, b);
  }
}

}  // namespace whale::quant_ref
