// ops.cpp — reference element-wise operations.
#include "kernels/ops.h"

#include <cmath>
#include <limits>

namespace whale {

void rmsnorm(Span2D<const float> x, std::span<const float> weight, float eps, Span2D<float> out) {
  WHALE_CHECK(static_cast<std::int64_t>(weight.size()) == x.cols() && out.cols() == x.cols());
  for (std::int64_t t = 0; t < x.rows(); ++t) {
    const float* xr = x.row(t);
    double ss = 0.0;
    for (std::int64_t i = 0; i < x.cols(); ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(x.cols()) + eps));
    float* o = out.row(t);
    for (std::int64_t i = 0; i < x.cols(); ++i) o[i] = xr[i] * inv * weight[static_cast<std::size_t>(i)];
  }
}

void silu_mul(Span2D<float> gate, Span2D<const float> up) {
  WHALE_CHECK(gate.rows() == up.rows() && gate.cols() == up.cols());
  for (std::int64_t t = 0; t < gate.rows(); ++t) {
    float* g = gate.row(t);
    const float* u = up.row(t);
    for (std::int64_t i = 0; i < gate.cols(); ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  }
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
