// quant_dot_ref.cpp — scalar reference dot products of quantized weights with Q8 activations.
// The integer sums are exact; the float epilogue per block is d_w · d_x · sumi (minus
// dmin_w · d_x · summins for Q4_K), accumulated in f32 in block order.
#include <array>
#include <cstring>

#include "kernels/quant_dot.h"
#include "quant/blocks.h"
#include "util/float_convert.h"

namespace whale {
namespace {

std::int32_t block_sum_q8_0(const BlockQ8_0& w, const BlockQ8_0& x) {
  std::int32_t s = 0;
  for (int i = 0; i < kQK; ++i) s += w.qs[i] * x.qs[i];
  return s;
}

struct Q4KSums {
  std::int32_t scaled;  // Σ_j sc_j Σ_{i in j} q_i x_i
  std::int32_t mins;    // Σ_j m_j Σ_{i in j} x_i
};

Q4KSums block_sums_q4_k(const BlockQ4_K& w, const BlockQ8_K& x) {
  Q4KSums r{0, 0};
  for (int j = 0; j < 8; ++j) {
    const ScaleMin sm = k4_scale_min(w.scales, j);
    std::int32_t s = 0;
    for (int i = 32 * j; i < 32 * j + 32; ++i) {
      const int byte = w.qs[32 * (i / 64) + i % 32];
      const int q = (i % 64 < 32) ? (byte & 0xF) : (byte >> 4);
      s += q * x.qs[i];
    }
    r.scaled += sm.scale * s;
    r.mins += sm.min * (x.bsums[2 * j] + x.bsums[2 * j + 1]);
  }
  return r;
}

std::int32_t block_sum_q6_k(const BlockQ6_K& w, const BlockQ8_K& x) {
  std::int32_t total = 0;
  for (int j = 0; j < 16; ++j) {
    std::int32_t s = 0;
    for (int i = 16 * j; i < 16 * j + 16; ++i) {
      const int n = i / 128, k = (i % 128) / 32, l = i % 32;
      const int byte = w.ql[64 * n + l + 32 * (k & 1)];
      const int low = (k < 2) ? (byte & 0xF) : (byte >> 4);
      const int high = (w.qh[32 * n + l] >> (2 * k)) & 3;
      s += ((low | (high << 4)) - 32) * x.qs[i];
    }
    total += w.scales[j] * s;
  }
  return total;
}

float dot_q8_0_q8_0(const std::byte* w, const std::byte* x, std::int64_t n) {
  float acc = 0.0f;
  for (std::int64_t b = 0; b < n / kQK; ++b) {
    const auto wb = load_block<BlockQ8_0>(w, b);
    const auto xb = load_block<BlockQ8_0>(x, b);
    acc += f16_to_f32(wb.d) * f16_to_f32(xb.d) * static_cast<float>(block_sum_q8_0(wb, xb));
  }
  return acc;
}

float dot_q4_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n) {
  float acc = 0.0f;
  for (std::int64_t b = 0; b < n / kQK_K; ++b) {
    const auto wb = load_block<BlockQ4_K>(w, b);
    const auto xb = load_block<BlockQ8_K>(x, b);
    const Q4KSums s = block_sums_q4_k(wb, xb);
    const float d = f16_to_f32(wb.d) * xb.d;
    const float dmin = f16_to_f32(wb.dmin) * xb.d;
    acc += d * static_cast<float>(s.scaled) - dmin * static_cast<float>(s.mins);
  }
  return acc;
}

float dot_q6_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n) {
  float acc = 0.0f;
  for (std::int64_t b = 0; b < n / kQK_K; ++b) {
    const auto wb = load_block<BlockQ6_K>(w, b);
    const auto xb = load_block<BlockQ8_K>(x, b);
    acc += f16_to_f32(wb.d) * xb.d * static_cast<float>(block_sum_q6_k(wb, xb));
  }
  return acc;
}

void sums_q8_0_q8_0(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums) {
  for (std::int64_t b = 0; b < n_blocks; ++b)
    sums[b] = block_sum_q8_0(load_block<BlockQ8_0>(w, b), load_block<BlockQ8_0>(x, b));
}

void sums_q4_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums) {
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const Q4KSums s = block_sums_q4_k(load_block<BlockQ4_K>(w, b), load_block<BlockQ8_K>(x, b));
    sums[2 * b] = s.scaled;
    sums[2 * b + 1] = s.mins;
  }
}

void sums_q6_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums) {
  for (std::int64_t b = 0; b < n_blocks; ++b)
    sums[b] = block_sum_q6_k(load_block<BlockQ6_K>(w, b), load_block<BlockQ8_K>(x, b));
}

constexpr QuantDotKernels kRefKernels{"scalar",       dot_q8_0_q8_0,  dot_q4_k_q8_k, dot_q6_k_q8_k,
                                      sums_q8_0_q8_0, sums_q4_k_q8_k, sums_q6_k_q8_k};

}  // namespace

const QuantDotKernels& quant_dot_ref() { return kRefKernels; }

}  // namespace whale
