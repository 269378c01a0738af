// matmul.h — y = x · Wᵀ for every weight type: the one product the model code calls.
#pragma once

#include <span>

#include "util/span2d.h"
#include "util/thread_pool.h"
#include "weights/weight_view.h"

namespace whale {

// y[t, r] = Σ_c x[t, c] · W[r, c] for t < x.rows(), r < w.rows. x.cols() == w.cols and
// y.cols() == w.rows. Work is split over weight rows (each weight row is read once per chunk
// of activation rows that fits the cache), and results are bitwise independent of the thread
// count.
//
// Block-quantized weights take the integer path by default (kernels/q8_matmul.h): x is
// quantized to 8 bits (Q8_0 or Q8_K): each activation moves by at most 1/254 of its block's
// largest magnitude (the bound is in docs/kernels.md). MatmulNumerics::kExact (or WHALE_MATMUL=exact in the
// environment, read once) computes on the exact f32 activations instead.
enum class MatmulNumerics { kQ8Activations, kExact };
void matmul(const WeightView& w, Span2D<const float> x, Span2D<float> y, ThreadPool& pool);
void matmul(const WeightView& w, Span2D<const float> x, Span2D<float> y, ThreadPool& pool,
            MatmulNumerics numerics);

// Several independent products y_j = x_j · W_jᵀ in one pass over the threads: the rows of all
// weights are split over the pool together, so a step made of many small products (the chosen
// experts of an MoE layer, the per-head MLA matrices at decode) pays one dispatch and one
// imbalance wait instead of one per product. Each y_j is bitwise what matmul(W_j, x_j, y_j)
// gives (the integer kernels' results do not depend on the row split); jobs with the same x
// share one activation quantization. x_j must not overlap any y_k.
struct MatmulJob {
  const WeightView* w = nullptr;
  Span2D<const float> x;
  Span2D<float> y;
};
void matmul_batch(std::span<const MatmulJob> jobs, ThreadPool& pool);

// The process default: kExact when the environment has WHALE_MATMUL=exact, else
// kQ8Activations. Read once; thread-safe.
MatmulNumerics default_matmul_numerics();

// Whether matmul supports the weight type.
bool matmul_supports(DType t);

// Dequantizes weight row `r` of `w` (applying FP8 block scales) into `out` (w.cols floats).
void dequantize_weight_row(const WeightView& w, std::int64_t r, float* out);

}  // namespace whale
