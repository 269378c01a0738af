// ops.cpp — reference element-wise operations.
#include "kernels/ops.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/exp_nonpositive.h"

namespace whale {

namespace {

void rmsnorm_rows(Span2D<const float> x, std::span<const float> weight, float eps, Span2D<float> out,
                  RowRange rows) {
  for (std::int64_t t = rows.begin; t < rows.end; ++t) {
    const float* xr = x.row(t);
    double ss = 0.0;
    for (std::int64_t i = 0; i < x.cols(); ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(x.cols()) + eps));
    float* o = out.row(t);
    for (std::int64_t i = 0; i < x.cols(); ++i) o[i] = xr[i] * inv * weight[static_cast<std::size_t>(i)];
  }
}

// exp_nonpositive's traits on one float, in operations the compiler vectorizes (no calls, no
// branches): rounding by adding and removing 1.5·2^23, 2^n built in the exponent bits (n is
// in [−126, 0] after the clamp, so it stays normal). Without FMA contraction fma and fnma
// round twice, which the polynomial's 2-ulp bound allows.
struct ScalarF32 {
  using V = float;
  static V set1(float s) { return s; }
  static V zero() { return 0.0f; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V mul(V v, float s) { return v * s; }
  static V round(V v) { return (v + 12582912.0f) - 12582912.0f; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V fnma(V a, V b, V c) { return c - a * b; }
  // n's integer read back through the same 1.5·2^23 shift (well defined for a NaN n too,
  // unlike a float-to-int conversion), in unsigned arithmetic.
  static V scale2n(V v, V n) {
    const std::uint32_t n_bits = std::bit_cast<std::uint32_t>(n + 12582912.0f) - 0x4B400000u;
    return v * std::bit_cast<float>((n_bits + 127u) << 23);
  }
};

// silu(g)·u = g·σ(g)·u with σ(g) = 1 / (1 + e^−g) for g >= 0 and e^g / (1 + e^g) below, both
// from e^−|g| <= 1.
void silu_mul_span(float* g, const float* u, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float e = exp_nonpositive<ScalarF32>(-std::fabs(g[i]));
    const float sigmoid = (g[i] >= 0.0f ? 1.0f : e) / (1.0f + e);
    g[i] = g[i] * sigmoid * u[i];
  }
}

}  // namespace

void rmsnorm(Span2D<const float> x, std::span<const float> weight, float eps, Span2D<float> out) {
  WHALE_CHECK(static_cast<std::int64_t>(weight.size()) == x.cols() && out.cols() == x.cols());
  rmsnorm_rows(x, weight, eps, out, {0, x.rows()});
}

void rmsnorm(Span2D<const float> x, std::span<const float> weight, float eps, Span2D<float> out,
             ThreadPool& pool) {
  WHALE_CHECK(static_cast<std::int64_t>(weight.size()) == x.cols() && out.cols() == x.cols());
  if (x.rows() == 1) return rmsnorm_rows(x, weight, eps, out, {0, 1});  // decode: not worth a job
  pool.parallel_for(x.rows(), [&](RowRange rows, int) { rmsnorm_rows(x, weight, eps, out, rows); });
}

void silu_mul(Span2D<float> gate, Span2D<const float> up, ThreadPool& pool) {
  WHALE_CHECK(gate.rows() == up.rows() && gate.cols() == up.cols());
  // Pieces of 2048 columns, so that one decoded row also spreads over the threads.
  constexpr std::int64_t kPiece = 2048;
  const std::int64_t per_row = (gate.cols() + kPiece - 1) / kPiece;
  pool.parallel_for(gate.rows() * per_row, [&](RowRange items, int) {
    for (std::int64_t item = items.begin; item < items.end; ++item) {
      const std::int64_t t = item / per_row, c0 = item % per_row * kPiece;
      silu_mul_span(gate.row(t) + c0, up.row(t) + c0, std::min(kPiece, gate.cols() - c0));
    }
  });
}

void softmax(std::span<float> x) {
  float mx = -std::numeric_limits<float>::infinity();
  for (float v : x) mx = std::isnan(v) || v > mx ? v : mx;
  if (std::isnan(mx)) {
    for (float& v : x) v = mx;
    return;
  }
  double sum = 0.0;
  for (float& v : x) {
    v = v == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(v - mx);
    sum += v;
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (float& v : x) v *= inv;
}

void add_inplace(Span2D<float> y, Span2D<const float> x) {
  WHALE_CHECK(y.rows() == x.rows() && y.cols() == x.cols());
  for (std::int64_t t = 0; t < y.rows(); ++t) {
    float* yr = y.row(t);
    const float* xr = x.row(t);
    for (std::int64_t i = 0; i < y.cols(); ++i) yr[i] += xr[i];
  }
}

void axpy(float a, std::span<const float> x, std::span<float> y) {
  for (std::size_t i = 0; i < y.size(); ++i) y[i] += a * x[i];
}

float dot_f32(const float* a, const float* b, std::int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

}  // namespace whale
