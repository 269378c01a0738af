// quant_dot.h — dot products of one quantized weight row with activations quantized to 8 bits
// (Q8_0 for Q8_0 weights, Q8_K for K-quant weights), chosen once per CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace whale {

// Σ_i w_i · x_i over `n` elements (a whole number of blocks). `w` holds weight blocks, `x` the
// matching activation blocks. Precondition: activation quants lie in [-127, 127], as the
// reference Q8_0 / Q8_K quantizers produce (the SIMD kernels move the weight's sign onto x).
using QuantDotFn = float (*)(const std::byte* w, const std::byte* x, std::int64_t n);

// The exact integer part of the same product, per block: Q8_0 and Q6_K write one int32 per
// block (Σ q_w·q_x, with Q6_K's sub-block scales applied); Q4_K writes two (Σ_j sc_j Σ q_w·q_x
// and Σ_j m_j · (sum of x quants in sub-block j)). Tests compare these bit for bit.
using QuantBlockSumsFn = void (*)(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                                  std::int32_t* sums);

struct QuantDotKernels {
  std::string_view isa_name;
  QuantDotFn dot_q8_0_q8_0 = nullptr;
  QuantDotFn dot_q4_k_q8_k = nullptr;
  QuantDotFn dot_q6_k_q8_k = nullptr;
  QuantBlockSumsFn sums_q8_0_q8_0 = nullptr;
  QuantBlockSumsFn sums_q4_k_q8_k = nullptr;
  QuantBlockSumsFn sums_q6_k_q8_k = nullptr;
};

// Portable scalar kernels: the oracle and the fallback.
const QuantDotKernels& quant_dot_ref();

// AVX2 + FMA + F16C kernels, or nullptr when this CPU (or build) lacks them.
const QuantDotKernels* quant_dot_avx2();

// The best kernels for this CPU, chosen on first use; thread-safe.
const QuantDotKernels& quant_dot_kernels();

}  // namespace whale
