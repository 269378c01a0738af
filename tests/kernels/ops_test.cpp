// ops_test.cpp — the pooled element-wise operations against their definitions in double, and
// their results independent of the thread count and of how the work is split.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/ops.h"

namespace whale {
namespace {

std::vector<float> random_floats(std::size_t n, float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, spread);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// silu(g)·u = g / (1 + e^-g) · u, evaluated in double.
double silu_mul_reference(double g, double u) { return g / (1.0 + std::exp(-g)) * u; }

TEST(Ops, SiluMulMatchesDoublePrecisionDefinition) {
  // 3 rows of 4100 columns: pieces of 2048 with a ragged last one; values from ±1e-3 to ±90
  // (e^-g under- and overflowing f32 past ±88), zeros and signed zeros.
  const std::int64_t rows = 3, cols = 4100;
  std::vector<float> g = random_floats(static_cast<std::size_t>(rows * cols), 6.0f, 1);
  g[0] = 0.0f;
  g[1] = -0.0f;
  g[2] = 90.0f;
  g[3] = -90.0f;
  g[4] = 88.5f;
  g[5] = -20.0f;
  g[6] = 1e-3f;
  const std::vector<float> u = random_floats(g.size(), 1.0f, 2);
  std::vector<float> got = g;
  ThreadPool pool(2);
  silu_mul(Span2D<float>(got.data(), rows, cols), Span2D<const float>(u.data(), rows, cols), pool);
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double want = silu_mul_reference(g[i], u[i]);
    // A few f32 roundings of g·σ(g)·u (σ from a polynomial e^x within 2 ulp), and the f32
    // denormal range where e^-|g| is clamped.
    EXPECT_NEAR(got[i], want, 4e-7 * std::fabs(want) + 1e-30) << "g " << g[i] << " u " << u[i];
  }
  EXPECT_EQ(got[2], 90.0f * u[2]);  // σ(90) rounds to 1
}

TEST(Ops, SiluMulKeepsNaN) {
  std::vector<float> g = {std::numeric_limits<float>::quiet_NaN(), 1.0f};
  const std::vector<float> u = {1.0f, 1.0f};
  ThreadPool pool(1);
  silu_mul(Span2D<float>(g.data(), 1, 2), Span2D<const float>(u.data(), 1, 2), pool);
  EXPECT_TRUE(std::isnan(g[0]));
  EXPECT_NEAR(g[1], 1.0 / (1.0 + std::exp(-1.0)), 1e-7);
}

// Each ISA's compilation of silu_mul's loop gives the portable one's bits (silu_mul runs the
// widest; the same model must decode the same on every x86 CPU), on lengths that leave
// vector tails and on the values where the selects and the clamp decide.
TEST(Ops, SiluMulSpanOfEveryIsaEqualsPortableBitForBit) {
  const SiluMulSpanFn portable = silu_mul_span_kernel("portable");
  ASSERT_NE(portable, nullptr);
  std::vector<float> g0 = random_floats(1000, 8.0f, 7);
  const float specials[] = {0.0f,   -0.0f, 87.0f, -87.0f, 88.7f, -88.7f, 90.0f, -90.0f, 1e-30f, -1e-30f,
                            1e30f, -1e30f, std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
  std::copy(std::begin(specials), std::end(specials), g0.begin());
  const std::vector<float> u = random_floats(g0.size(), 1.0f, 8);
  int checked = 0;
  for (const char* isa : {"avx2", "avx512"}) {
    const SiluMulSpanFn kernel = silu_mul_span_kernel(isa);
    if (kernel == nullptr) continue;  // not built for this architecture, or not this CPU
    ++checked;
    for (const std::int64_t n : {1, 7, 15, 16, 17, 33, 1000}) {
      std::vector<float> want(g0.begin(), g0.begin() + n), got = want;
      portable(want.data(), u.data(), n);
      kernel(got.data(), u.data(), n);
      for (std::int64_t i = 0; i < n; ++i)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(got[i]), std::bit_cast<std::uint32_t>(want[i]))
            << isa << " n " << n << " g " << g0[i] << " u " << u[i];
    }
  }
  RecordProperty("isa_kernels_checked", checked);
}

// One row alone (a decode step) and the same row inside a batch, on 1 or 2 threads: the same
// bits (decode and prefill must agree).
TEST(Ops, SiluMulAndRmsnormBitsDoNotDependOnSplit) {
  const std::int64_t rows = 5, cols = 2500;
  const std::vector<float> g0 = random_floats(static_cast<std::size_t>(rows * cols), 4.0f, 3);
  const std::vector<float> u = random_floats(g0.size(), 1.0f, 4);
  const std::vector<float> w = random_floats(static_cast<std::size_t>(cols), 1.0f, 5);
  ThreadPool one(1), two(2);
  std::vector<float> batch = g0, norm_batch(g0.size()), norm_serial(g0.size());
  silu_mul(Span2D<float>(batch.data(), rows, cols), Span2D<const float>(u.data(), rows, cols), two);
  rmsnorm(Span2D<const float>(g0.data(), rows, cols), w, 1e-6f, Span2D<float>(norm_batch.data(), rows, cols), two);
  rmsnorm(Span2D<const float>(g0.data(), rows, cols), w, 1e-6f, Span2D<float>(norm_serial.data(), rows, cols));
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<float> alone(g0.begin() + r * cols, g0.begin() + (r + 1) * cols);
    silu_mul(Span2D<float>(alone.data(), 1, cols), Span2D<const float>(u.data() + r * cols, 1, cols), one);
    std::vector<float> norm_alone(static_cast<std::size_t>(cols));
    rmsnorm(Span2D<const float>(g0.data() + r * cols, 1, cols), w, 1e-6f, Span2D<float>(norm_alone.data(), 1, cols), two);
    for (std::int64_t i = 0; i < cols; ++i) {
      const auto k = static_cast<std::size_t>(r * cols + i);
      ASSERT_EQ(std::bit_cast<std::uint32_t>(alone[static_cast<std::size_t>(i)]), std::bit_cast<std::uint32_t>(batch[k]))
          << "silu row " << r << " col " << i;
      ASSERT_EQ(std::bit_cast<std::uint32_t>(norm_alone[static_cast<std::size_t>(i)]), std::bit_cast<std::uint32_t>(norm_batch[k]))
          << "rmsnorm row " << r << " col " << i;
      ASSERT_EQ(std::bit_cast<std::uint32_t>(norm_serial[k]), std::bit_cast<std::uint32_t>(norm_batch[k]));
    }
  }
}

// rmsnorm against its definition in double.
TEST(Ops, RmsnormMatchesDoublePrecisionDefinition) {
  const std::int64_t rows = 4, cols = 1536;
  const std::vector<float> x = random_floats(static_cast<std::size_t>(rows * cols), 2.0f, 6);
  const std::vector<float> w = random_floats(static_cast<std::size_t>(cols), 1.0f, 7);
  std::vector<float> out(x.size());
  ThreadPool pool(2);
  rmsnorm(Span2D<const float>(x.data(), rows, cols), w, 1e-5f, Span2D<float>(out.data(), rows, cols), pool);
  for (std::int64_t r = 0; r < rows; ++r) {
    double ss = 0.0;
    for (std::int64_t i = 0; i < cols; ++i) ss += static_cast<double>(x[static_cast<std::size_t>(r * cols + i)]) * x[static_cast<std::size_t>(r * cols + i)];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(cols) + 1e-5);
    for (std::int64_t i = 0; i < cols; ++i) {
      const auto k = static_cast<std::size_t>(r * cols + i);
      const double want = x[k] * inv * w[static_cast<std::size_t>(i)];
      EXPECT_NEAR(out[k], want, 3e-7 * std::fabs(want) + 1e-30);
    }
  }
}

}  // namespace
}  // namespace whale
