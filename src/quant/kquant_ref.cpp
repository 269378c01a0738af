// kquant_ref.cpp — scalar reference dequantizers for the K-quant super-blocks (256 elements).
// Each evaluates the format definition's expressions with the same f32 operations in the same
// order (e.g. Q6_K is (d * sc) * q, not d * (sc * q)), so results are bit-identical to ggml's.
//
// Element placement shared by Q2_K and Q3_K: element i lives in qs[32 * (i / 128) + i % 32] at
// bit 2 * ((i % 128) / 32); Q3_K's high bit is hmask[i % 32] bit i / 32. Q4_K/Q5_K: element i
// lives in qs[32 * (i / 64) + i % 32], low nibble when i % 64 < 32; Q5_K's fifth bit is
// qh[i % 32] bit i / 32. Sub-block scale index is i / 16 (Q2/Q3/Q6_K) or i / 32 (Q4/Q5_K).
#include "quant/blocks.h"
#include "quant/quant_ref.h"
#include "util/float_convert.h"

namespace whale::quant_ref {

void dequantize_q2_k(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK_K) {
    const auto blk = load_block<BlockQ2_K>(src, b);
    const float d = f16_to_f32(blk.d), dmin = f16_to_f32(blk.dmin);
    for (int i = 0; i < kQK_K; ++i) {
      const int sc = blk.scales[i / 16];
      const float dl = d * static_cast<float>(sc & 0xF);
      const float ml = dmin * static_cast<float>(sc >> 4);
      const int q = (blk.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
      dst[i] = dl * static_cast<float>(q) - ml;
    }
  }
}

void dequantize_q3_k(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK_K) {
    const auto blk = load_block<BlockQ3_K>(src, b);
    const float d = f16_to_f32(blk.d);
    for (int i = 0; i < kQK_K; ++i) {
      const float dl = d * static_cast<float>(q3k_scale(blk.scales, i / 16) - 32);
      const int low = (blk.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
      const bool high = (blk.hmask[i % 32] >> (i / 32)) & 1;
      dst[i] = dl * static_cast<float>(low - (high ? 0 : 4));
    }
  }
}

void dequantize_q4_k(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK_K) {
    const auto blk = load_block<BlockQ4_K>(src, b);
    const float d = f16_to_f32(blk.d), dmin = f16_to_f32(blk.dmin);
    for (int i = 0; i < kQK_K; ++i) {
      const ScaleMin sm = k4_scale_min(blk.scales, i / 32);
      const float dl = d * static_cast<float>(sm.scale);
      const float ml = dmin * static_cast<float>(sm.min);
      const int byte = blk.qs[32 * (i / 64) + i % 32];
      const int q = (i % 64 < 32) ? (byte & 0xF) : (byte >> 4);
      dst[i] = dl * static_cast<float>(q) - ml;
    }
  }
}

void dequantize_q5_k(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK_K) {
    const auto blk = load_block<BlockQ5_K>(src, b);
    const float d = f16_to_f32(blk.d), dmin = f16_to_f32(blk.dmin);
    for (int i = 0; i < kQK_K; ++i) {
      const ScaleMin sm = k4_scale_min(blk.scales, i / 32);
      const float dl = d * static_cast<float>(sm.scale);
      const float ml = dmin * static_cast<float>(sm.min);
      const int byte = blk.qs[32 * (i / 64) + i % 32];
      const int low = (i % 64 < 32) ? (byte & 0xF) : (byte >> 4);
      const int high = (blk.qh[i % 32] >> (i / 32)) & 1;
      dst[i] = dl * static_cast<float>(low + 16 * high) - ml;
    }
  }
}

// Q6_K element i: n = i / 128 picks the half, k = (i % 128) / 32 picks the quarter, l = i % 32.
// Quarters 0 and 1 use the low nibbles of ql[64n + l] and ql[64n + l + 32], quarters 2 and 3
// the high nibbles; the two high bits are qh[32n + l] at bit 2k.
void dequantize_q6_k(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK_K) {
    const auto blk = load_block<BlockQ6_K>(src, b);
    const float d = f16_to_f32(blk.d);
    for (int i = 0; i < kQK_K; ++i) {
      const int n = i / 128, k = (i % 128) / 32, l = i % 32;
      const int byte = blk.ql[64 * n + l + 32 * (k & 1)];
      const int low = (k < 2) ? (byte & 0xF) : (byte >> 4);
      const int high = (blk.qh[32 * n + l] >> (2 * k)) & 3;
      const int q = (low | (high << 4)) - 32;
      dst[i] = d * static_cast<float>(blk.scales[i / 16]) * static_cast<float>(q);
    }
  }
}

void dequantize_q8_k(const std::byte* src, float* dst, std::int64_t n_blocks) {
  for (std::int64_t b = 0; b < n_blocks; ++b, dst += kQK_K) {
    const auto blk = load_block<BlockQ8_K>(src, b);
    for (int i = 0; i < kQK_K; ++i) dst[i] = blk.d * static_cast<float>(blk.qs[i]);
  }
}

}  // namespace whale::quant_ref
