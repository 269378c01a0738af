// ops.cpp — reference element-wise operations.
#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu_features.h"
#include "kernels/silu_mul_span.h"

namespace whale {

#if defined(WHALE_HAVE_X86_AVX2)
void silu_mul_span_avx2(float* g, const float* u, std::int64_t n);
void silu_mul_span_avx512(float* g, const float* u, std::int64_t n);
#endif

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

SiluMulSpanFn silu_mul_span_kernel(const char* name) {
#if defined(WHALE_HAVE_X86_AVX2)
  return kernel_of_set<SiluMulSpanFn>(name, &silu_mul_span, &silu_mul_span_avx2, &silu_mul_span_avx512);
#else
  return kernel_of_set<SiluMulSpanFn>(name, &silu_mul_span, nullptr, nullptr);
#endif
}

void silu_mul(Span2D<float> gate, Span2D<const float> up, ThreadPool& pool) {
  WHALE_CHECK(gate.rows() == up.rows() && gate.cols() == up.cols());
  // Pieces of 2048 columns, so that one decoded row also spreads over the threads.
  constexpr std::int64_t kPiece = 2048;
  const std::int64_t per_row = (gate.cols() + kPiece - 1) / kPiece;
  // The widest vectors this CPU runs: at the SSE2 baseline this loop was 2 % of a 1.5B-shape
  // prefill.
  static const SiluMulSpanFn span = [] {
    for (const char* isa : {"avx512", "avx2"})
      if (const SiluMulSpanFn f = silu_mul_span_kernel(isa)) return f;
    return silu_mul_span_kernel("portable");
  }();
  pool.parallel_for(gate.rows() * per_row, [&](RowRange items, int) {
    for (std::int64_t item = items.begin; item < items.end; ++item) {
      const std::int64_t t = item / per_row, c0 = item % per_row * kPiece;
      span(gate.row(t) + c0, up.row(t) + c0, std::min(kPiece, gate.cols() - c0));
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
