// quant_ref.h — per-type scalar reference (de)quantizers behind dequantize_row / quantize_row.
// Each converts whole blocks: `n_blocks` blocks of the type at `src` / `dst`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace whale::quant_ref {

using DequantizeFn = void (*)(const std::byte* src, float* dst, std::int64_t n_blocks);
using QuantizeFn = void (*)(const float* src, std::byte* dst, std::int64_t n_blocks);

// legacy_ref.cpp
void dequantize_q4_0(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q4_1(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q5_0(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q5_1(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q8_0(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q8_1(const std::byte* src, float* dst, std::int64_t n_blocks);
void quantize_q4_0(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q4_1(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q5_0(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q5_1(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q8_0(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q8_1(const float* src, std::byte* dst, std::int64_t n_blocks);

// kquant_ref.cpp (dequantize) and kquant_quantize.cpp (quantize)
void dequantize_q2_k(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q3_k(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q4_k(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q5_k(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q6_k(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_q8_k(const std::byte* src, float* dst, std::int64_t n_blocks);
void quantize_q2_k(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q3_k(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q4_k(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q5_k(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q6_k(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_q8_k(const float* src, std::byte* dst, std::int64_t n_blocks);

// iq_ref.cpp
void dequantize_iq4_nl(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_iq4_xs(const std::byte* src, float* dst, std::int64_t n_blocks);
void quantize_iq4_nl(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_iq4_xs(const float* src, std::byte* dst, std::int64_t n_blocks);

// iq_lattice_ref.cpp
void dequantize_iq2_xxs(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_iq1_s(const std::byte* src, float* dst, std::int64_t n_blocks);
void dequantize_iq1_m(const std::byte* src, float* dst, std::int64_t n_blocks);
void quantize_iq2_xxs(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_iq1_s(const float* src, std::byte* dst, std::int64_t n_blocks);
void quantize_iq1_m(const float* src, std::byte* dst, std::int64_t n_blocks);

}  // namespace whale::quant_ref
