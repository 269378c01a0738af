// ops.h — element-wise and row-wise operations of the transformer blocks (f32).
#pragma once

#include <cstdint>
#include <span>

#include "util/span2d.h"
#include "util/thread_pool.h"

namespace whale {

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, row by row. out may alias x.
void rmsnorm(Span2D<const float> x, std::span<const float> weight, float eps, Span2D<float> out);
// The same, rows spread over the pool (same bits).
void rmsnorm(Span2D<const float> x, std::span<const float> weight, float eps, Span2D<float> out,
             ThreadPool& pool);

// gate[t, i] = silu(gate[t, i]) * up[t, i]  (the SwiGLU product), spread over the pool in
// pieces of rows; e^x by a polynomial the compiler vectorizes (glibc's expf, one element at a
// time on the calling thread, was ~15 % of the 1.5B shape's prefill wall time). Any split gives
// the same bits.
void silu_mul(Span2D<float> gate, Span2D<const float> up, ThreadPool& pool);

// silu_mul's loop over n elements as one ISA compiles it: "portable" (the baseline), "avx2",
// "avx512"; nullptr where this build or CPU has none. silu_mul runs the widest (all give the
// same bits).
using SiluMulSpanFn = void (*)(float* gate, const float* up, std::int64_t n);
SiluMulSpanFn silu_mul_span_kernel(const char* name);

// In-place softmax over x[0, n); exactly 0 for -inf entries; NaN propagates.
void softmax(std::span<float> x);

// y += x (same shapes).
void add_inplace(Span2D<float> y, Span2D<const float> x);

// y += a * x for one row.
void axpy(float a, std::span<const float> x, std::span<float> y);

float dot_f32(const float* a, const float* b, std::int64_t n);

}  // namespace whale
