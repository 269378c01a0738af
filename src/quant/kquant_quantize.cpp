// kquant_quantize.cpp — scalar reference quantizers for the K-quant super-blocks and Q8_K.
// Scheme (as in ggml's reference quantizers): fit each sub-block's scale (and min) by least
// squares, quantize those to the format's 4/6/8-bit sub-block scales relative to one f16
// super-block scale, then choose every element's level against the *stored* scales, so the
// error we measure is the error of the bytes we write. Element placement is described in
// kquant_ref.cpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <span>

#include "quant/blocks.h"
#include "quant/quant_ref.h"
#include "quant/quant_search.h"
#include "util/float_convert.h"

namespace whale::quant_ref {
namespace {

// Level of x for stored step dl and offset ml (x ≈ dl * q - ml), clamped to [lo, hi].
int level_for(float x, float dl, float ml, int lo, int hi) {
  if (dl == 0.0f) return std::clamp(0, lo, hi);
  return std::clamp(round_int((x + ml) / dl), lo, hi);
}

// Quantizes a sub-block scale against the super-block step d to an integer in [lo, hi].
int scale_code(float v, float d, int lo, int hi) {
  return d > 0.0f ? std::clamp(round_int(v / d), lo, hi) : 0;
}

// Fills 2-bit levels q[0..255] into Q2_K / Q3_K qs.
void pack_2bit(const std::array<int, kQK_K>& q, std::array<std::uint8_t, kQK_K / 4>& qs) {
  qs.fill(0);
  for (int i = 0; i < kQK_K; ++i)
    qs[32 * (i / 128) + i % 32] |= static_cast<std::uint8_t>((q[i] & 3) << (2 * ((i % 128) / 32)));
}

// Fills nibbles q[0..255] (low 4 bits of each level) into Q4_K / Q5_K qs.
void pack_nibbles(const std::array<int, kQK_K>& q, std::array<std::uint8_t, kQK_K / 2>& qs) {
  qs.fill(0);
  for (int i = 0; i < kQK_K; ++i)
    qs[32 * (i / 64) + i % 32] |= static_cast<std::uint8_t>((q[i] & 0xF) << (i % 64 < 32 ? 0 : 4));
}

// Inverse of k4_scale_min for 8 pairs of 6-bit codes.
std::array<std::uint8_t, 12> pack_k4_scales(const std::array<int, 8>& ls,
                                            const std::array<int, 8>& lm) {
  std::array<std::uint8_t, 12> s{};
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = static_cast<std::uint8_t>(ls[j]);
      s[j + 4] = static_cast<std::uint8_t>(lm[j]);
    } else {
      s[j + 4] = static_cast<std::uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      s[j - 4] |= static_cast<std::uint8_t>((ls[j] >> 4) << 6);
      s[j] |= static_cast<std::uint8_t>((lm[j] >> 4) << 6);
    }
  }
  return s;
}

// Q4_K and Q5_K differ only in the level count and the fifth bit.
template <class Block, int kNmax>
void quantize_k4_family(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK_K) {
    std::array<int, kQK_K> q{};
    std::array<ScaleAndMin, 8> sm{};
    fit_scale_min_blocks(src, 8, 32, kNmax, q.data(), sm.data());
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
      max_scale = std::max(max_scale, sm[j].scale);
      max_min = std::max(max_min, sm[j].min);
    }
    Block blk{};
    blk.d = f32_to_f16(max_scale / 63.0f);
    blk.dmin = f32_to_f16(max_min / 63.0f);
    const float d = f16_to_f32(blk.d), dmin = f16_to_f32(blk.dmin);
    std::array<int, 8> ls{}, lm{};
    for (int j = 0; j < 8; ++j) {
      ls[j] = scale_code(sm[j].scale, d, 0, 63);
      lm[j] = scale_code(sm[j].min, dmin, 0, 63);
      const float dl = d * static_cast<float>(ls[j]), ml = dmin * static_cast<float>(lm[j]);
      for (int i = 32 * j; i < 32 * j + 32; ++i) q[i] = level_for(src[i], dl, ml, 0, kNmax);
    }
    blk.scales = pack_k4_scales(ls, lm);
    pack_nibbles(q, blk.qs);
    if constexpr (kNmax == 31) {
      blk.qh.fill(0);
      for (int i = 0; i < kQK_K; ++i)
        blk.qh[i % 32] |= static_cast<std::uint8_t>((q[i] >> 4) << (i / 32));
    }
    store_block(blk, dst, b);
  }
}

}  // namespace

void quantize_q2_k(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK_K) {
    std::array<int, kQK_K> q{};
    std::array<ScaleAndMin, 16> sm{};
    fit_scale_min_blocks(src, 16, 16, 3, q.data(), sm.data());
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 16; ++j) {
      max_scale = std::max(max_scale, sm[j].scale);
      max_min = std::max(max_min, sm[j].min);
    }
    BlockQ2_K blk{};
    blk.d = f32_to_f16(max_scale / 15.0f);
    blk.dmin = f32_to_f16(max_min / 15.0f);
    const float d = f16_to_f32(blk.d), dmin = f16_to_f32(blk.dmin);
    for (int j = 0; j < 16; ++j) {
      const int ls = scale_code(sm[j].scale, d, 0, 15);
      const int lm = scale_code(sm[j].min, dmin, 0, 15);
      blk.scales[j] = static_cast<std::uint8_t>(ls | (lm << 4));
      const float dl = d * static_cast<float>(ls), ml = dmin * static_cast<float>(lm);
      for (int i = 16 * j; i < 16 * j + 16; ++i) q[i] = level_for(src[i], dl, ml, 0, 3);
    }
    pack_2bit(q, blk.qs);
    store_block(blk, dst, b);
  }
}

void quantize_q3_k(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK_K) {
    std::array<int, kQK_K> q{};
    std::array<float, 16> scales{};
    fit_symmetric_blocks(src, 16, 16, 4, q.data(), scales.data());
    const float max_scale = signed_absmax(scales);
    BlockQ3_K blk{};
    // The signed largest scale maps to code -32, so the sign of d absorbs its sign.
    blk.d = f32_to_f16(std::fabs(max_scale) > kTinyAbs ? max_scale / -32.0f : 0.0f);
    const float d = f16_to_f32(blk.d);
    blk.scales.fill(0);
    for (int j = 0; j < 16; ++j) {
      const int ls = d != 0.0f ? std::clamp(round_int(scales[j] / d), -32, 31) : 0;
      const int code = ls + 32;
      if (j < 8)
        blk.scales[j] |= static_cast<std::uint8_t>(code & 0xF);
      else
        blk.scales[j - 8] |= static_cast<std::uint8_t>((code & 0xF) << 4);
      blk.scales[8 + j % 4] |= static_cast<std::uint8_t>((code >> 4) << (2 * (j / 4)));
      const float dl = d * static_cast<float>(ls);
      for (int i = 16 * j; i < 16 * j + 16; ++i) q[i] = level_for(src[i], dl, 0.0f, -4, 3) + 4;
    }
    pack_2bit(q, blk.qs);
    blk.hmask.fill(0);
    for (int i = 0; i < kQK_K; ++i)
      blk.hmask[i % 32] |= static_cast<std::uint8_t>((q[i] >> 2) << (i / 32));
    store_block(blk, dst, b);
  }
}

void quantize_q4_k(const float* src, std::byte* dst, std::int64_t n_blocks) {
  quantize_k4_family<BlockQ4_K, 15>(src, dst, n_blocks);
}

void quantize_q5_k(const float* src, std::byte* dst, std::int64_t n_blocks) {
  quantize_k4_family<BlockQ5_K, 31>(src, dst, n_blocks);
}

void quantize_q6_k(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK_K) {
    std::array<int, kQK_K> q{};
    std::array<float, 16> scales{};
    fit_symmetric_blocks(src, 16, 16, 32, q.data(), scales.data());
    const float max_scale = signed_absmax(scales);
    BlockQ6_K blk{};
    blk.d = f32_to_f16(std::fabs(max_scale) > kTinyAbs ? max_scale / -128.0f : 0.0f);
    const float d = f16_to_f32(blk.d);
    for (int j = 0; j < 16; ++j) {
      const int ls = d != 0.0f ? std::clamp(round_int(scales[j] / d), -128, 127) : 0;
      blk.scales[j] = static_cast<std::int8_t>(ls);
      const float dl = d * static_cast<float>(ls);
      for (int i = 16 * j; i < 16 * j + 16; ++i) q[i] = level_for(src[i], dl, 0.0f, -32, 31) + 32;
    }
    blk.ql.fill(0);
    blk.qh.fill(0);
    for (int i = 0; i < kQK_K; ++i) {
      const int n = i / 128, k = (i % 128) / 32, l = i % 32;
      blk.ql[64 * n + l + 32 * (k & 1)] |=
          static_cast<std::uint8_t>((q[i] & 0xF) << (k < 2 ? 0 : 4));
      blk.qh[32 * n + l] |= static_cast<std::uint8_t>((q[i] >> 4) << (2 * k));
    }
    store_block(blk, dst, b);
  }
}

// Q8_K: the signed absolute maximum maps to -127 (never -128, so the negation of any quant
// fits in int8), d = 1 / iscale is kept in f32, and bsums cache the 16-element sums.
void quantize_q8_k(const float* src, std::byte* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, src += kQK_K) {
    BlockQ8_K blk{};
    const float max = signed_absmax({src, kQK_K});
    if (max == 0.0f) {
      store_block(blk, dst, b);
      continue;
    }
    const float iscale = -127.0f / max;
    for (int i = 0; i < kQK_K; ++i)
      blk.qs[i] = static_cast<std::int8_t>(std::min(127, round_int(iscale * src[i])));
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int i = 16 * j; i < 16 * j + 16; ++i) sum += blk.qs[i];
      blk.bsums[j] = static_cast<std::int16_t>(sum);
    }
    blk.d = 1.0f / iscale;
    store_block(blk, dst, b);
  }
}

}  // namespace whale::quant_ref
