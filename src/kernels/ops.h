// ops.h — element-wise and row-wise operations of the transformer blocks (f32).
#pragma once

#include <cstdint>
#include <span>

#include "util/span2d.h"

namespace whale {

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, row by row. out may alias x.
void rmsnorm(Span2D<const float> x, std::span<const float> weight, float eps, Span2D<float> out);

// gate[t, i] = silu(gate[t, i]) * up[t, i]  (the SwiGLU product).
void silu_mul(Span2D<float> gate, Span2D<const float> up);

// In-place softmax over x[0, n); exactly 0 for -inf entries; NaN propagates.
void softmax(std::span<float> x);

// y += x (same shapes).
void add_inplace(Span2D<float> y, Span2D<const float> x);

// y += a * x for one row.
void axpy(float a, std::span<const float> x, std::span<float> y);

float dot_f32(const float* a, const float* b, std::int64_t n);

}  // namespace whale
