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

// Integer matmul kernels (kernels/q8_matmul.h), one per weight layout.
void matmul_q8_0(const Q8MatmulArgs& a);
void matmul_q4_k(const Q8MatmulArgs& a);
void matmul_q5_k(const Q8MatmulArgs& a);
void matmul_q2_k(const Q8MatmulArgs& a);
void matmul_q3_k(const Q8MatmulArgs& a);
void matmul_iq4_xs(const Q8MatmulArgs& a);
void matmul_q6_k(const Q8MatmulArgs& a);
void matmul_q4_0(const Q8MatmulArgs& a);
void matmul_q4_1(const Q8MatmulArgs& a);
void matmul_q5_0(const Q8MatmulArgs& a);
void matmul_q5_1(const Q8MatmulArgs& a);
void matmul_iq4_nl(const Q8MatmulArgs& a);
void matmul_iq2_xxs(const Q8MatmulArgs& a);
void matmul_iq1_s(const Q8MatmulArgs& a);
void matmul_iq1_m(const Q8MatmulArgs& a);

}  // namespace whale::avx2
