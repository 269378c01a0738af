// row_dot.h — dot product of one stored weight row (any float type, Q8_0) with f32
// activations, computed on the weights' exact f32 values; chosen once per CPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/dtype.h"

namespace whale {

using RowDotFn = float (*)(const std::byte* w_row, const float* x, std::int64_t n);

// The fastest row dot for `t` on this CPU, or nullptr when only the dequantize-then-dot
// reference path supports it. Thread-safe.
RowDotFn row_dot_kernel(DType t);
// The name of the instruction set the table was built for ("avx2+fma+f16c" or "scalar").
const char* row_dot_isa();

// Two f32 rows against three activation rows at once (out[3 r + k] = w[r] · x[k]), each result
// the same bits as the F32 row dot gives; nullptr when the CPU has no such kernel.
using Dot2x3Fn = void (*)(const float* const* w, const float* const* x, std::int64_t n, float* out);
Dot2x3Fn dot2x3_f32_kernel();

// Defined in the AVX2 translation unit (x86-64 builds only).
RowDotFn avx2_row_dot(DType t);
void avx2_dot2x3_f32(const float* const* w, const float* const* x, std::int64_t n, float* out);

}  // namespace whale
