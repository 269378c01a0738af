// matmul.h — y = x · Wᵀ for every weight type: the one product the model code calls.
#pragma once

#include "util/span2d.h"
#include "util/thread_pool.h"
#include "weights/weight_view.h"

namespace whale {

// y[t, r] = Σ_c x[t, c] · W[r, c] for t < x.rows(), r < w.rows. x.cols() == w.cols and
// y.cols() == w.rows. Work is split over weight rows, so each weight row is read (and
// dequantized) once for all T activation rows, and results are bitwise independent of the
// thread count.
void matmul(const WeightView& w, Span2D<const float> x, Span2D<float> y, ThreadPool& pool);

// Whether matmul supports the weight type.
bool matmul_supports(DType t);

// Dequantizes weight row `r` of `w` (applying FP8 block scales) into `out` (w.cols floats).
void dequantize_weight_row(const WeightView& w, std::int64_t r, float* out);

}  // namespace whale
