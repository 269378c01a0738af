// avx2_quant_dot.h — entry points of the AVX2 + FMA + F16C quantized dot products (defined in
// this folder's translation units, which alone are compiled with those target flags).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/q8_matmul_args.h"

namespace whale::avx2 {

float dot_q8_0_q8_0(const std::byte* w, const std::byte* x, std::int64_t n);
float dot_q4_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n);
float dot_q6_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n);
void sums_q8_0_q8_0(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums);
void sums_q4_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums);
void sums_q6_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums);


// Activation rows for the integer kernels (kernels/q8_acts.h): Q8_K when q8_k, else Q8_0.
void quantize_act_row(bool q8_k, const float* x, std::int64_t cols, std::int8_t* qs, float* d,
                      std::int16_t* sums16);

}  // namespace whale::avx2

// Integer matmul kernels (kernels/q8_matmul.h), one per weight layout: X(DType enumerator,
// function suffix). Defined for AVX2 in namespace whale::avx2 and, compiled again with
// AVX512-VNNI (../x86_avx512_vnni/), in whale::avx2_vnni.
#define WHALE_Q8_MATMUL_KERNELS(X)                                                         \
  X(kQ8_0, q8_0) X(kQ4_K, q4_k) X(kQ5_K, q5_k) X(kQ2_K, q2_k) X(kQ3_K, q3_k)              \
  X(kIQ4_XS, iq4_xs) X(kQ6_K, q6_k) X(kQ4_0, q4_0) X(kQ4_1, q4_1) X(kQ5_0, q5_0)          \
  X(kQ5_1, q5_1) X(kIQ4_NL, iq4_nl) X(kIQ2_XXS, iq2_xxs) X(kIQ1_S, iq1_s) X(kIQ1_M, iq1_m)

#define WHALE_DECLARE_Q8_MATMUL(type, suffix) void matmul_##suffix(const Q8MatmulArgs& a);
namespace whale::avx2 {
WHALE_Q8_MATMUL_KERNELS(WHALE_DECLARE_Q8_MATMUL)
}  // namespace whale::avx2
namespace whale::avx2_vnni {
WHALE_Q8_MATMUL_KERNELS(WHALE_DECLARE_Q8_MATMUL)
}  // namespace whale::avx2_vnni
#undef WHALE_DECLARE_Q8_MATMUL
