// avx2_quant_dot.h — entry points of the AVX2 + FMA + F16C quantized dot products (defined in
// this folder's translation units, which alone are compiled with those target flags).
#pragma once

#include <cstddef>
#include <cstdint>

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

}  // namespace whale::avx2
