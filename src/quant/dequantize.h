// dequantize.h — scalar reference conversions between every stored element type and f32.
// These are the oracle for the fast kernels and the fallback path for types without one.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/dtype.h"

namespace whale {

// True when dequantize_row supports `t`. False for the codebook types other than IQ2_XXS,
// IQ1_S and IQ1_M (IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S) and the ternary TQ types.
bool has_dequantize(DType t);

// Converts `n` elements of type `t` (a whole number of blocks) at `src` to f32 at `dst`.
// WHALE_CHECKs that the type is supported and n is a multiple of the block size.
void dequantize_row(DType t, const std::byte* src, float* dst, std::int64_t n);

// True when quantize_row supports `t`.
bool has_quantize(DType t);

// Converts `n` f32 values to type `t` with the reference quantizer: the legacy types use
// ggml's absmax / min-max rounding; the K and IQ4 types fit sub-block scales by least squares,
// the codebook types (IQ2_XXS, IQ1_S, IQ1_M) search their codebook per group of 8 (valid blocks,
// not byte-identical to ggml's quantizer; the round-trip error is what is tested).
// Precondition for the block types: every src value is finite (checked in debug builds).
void quantize_row(DType t, const float* src, std::byte* dst, std::int64_t n);

}  // namespace whale
