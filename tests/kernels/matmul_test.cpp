// matmul_test.cpp — matmul for every weight type against a double-precision product over the
// same dequantized weights, on odd shapes and several thread counts. Bound (STYLE.md §6.2):
// |y - y_ref| <= (2 * n_eff * 2^-24) * S + 1e-30 with S = Σ|w·x| and n_eff = n/8 + 16, the
// sequential f32 additions of an 8-lane accumulation; weights convert to f32 exactly, so the
// accumulation is the only rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/matmul.h"
#include "quant/dequantize.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

struct Case {
  DType dtype;
  std::int64_t cols;
};

std::vector<std::byte> make_weights(DType t, std::int64_t rows, std::int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const std::size_t row_bytes = *whale::row_bytes(t, cols);
  std::vector<std::byte> out(row_bytes * static_cast<std::size_t>(rows));
  std::vector<float> row(static_cast<std::size_t>(cols));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = dist(rng);
    quantize_row(t, row.data(), out.data() + r * row_bytes, cols);
  }
  return out;
}

void check_case(const Case& c, std::int64_t rows, std::int64_t tokens, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto bytes = make_weights(c.dtype, rows, c.cols, rng);
  WeightView w;
  w.dtype = c.dtype;
  w.rows = rows;
  w.cols = c.cols;
  w.row_bytes = *row_bytes(c.dtype, c.cols);
  w.data = bytes.data();
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(tokens * c.cols));
  for (auto& v : x) v = dist(rng);
  std::vector<float> wf(static_cast<std::size_t>(rows * c.cols));
  for (std::int64_t r = 0; r < rows; ++r)
    dequantize_row(c.dtype, bytes.data() + r * w.row_bytes, wf.data() + r * c.cols, c.cols);

  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> y(static_cast<std::size_t>(tokens * rows));
    matmul(w, Span2D<const float>(x.data(), tokens, c.cols), Span2D<float>(y.data(), tokens, rows), pool,
           MatmulNumerics::kExact);
    results.push_back(y);
  }
  ASSERT_EQ(results[0], results[1]) << "threads 1 vs 2 differ";
  ASSERT_EQ(results[0], results[2]) << "threads 1 vs 3 differ";
  const double n_eff = static_cast<double>(c.cols) / 8.0 + 16.0;
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t r = 0; r < rows; ++r) {
      double ref = 0.0, s = 0.0;
      for (std::int64_t k = 0; k < c.cols; ++k) {
        const double p = static_cast<double>(wf[static_cast<std::size_t>(r * c.cols + k)]) * x[static_cast<std::size_t>(t * c.cols + k)];
        ref += p;
        s += std::fabs(p);
      }
      const double bound = 2.0 * n_eff * std::ldexp(1.0, -24) * s + 1e-30;
      const double got = results[0][static_cast<std::size_t>(t * rows + r)];
      ASSERT_LE(std::fabs(got - ref), bound)
          << dtype_name(c.dtype) << " seed " << seed << " row " << r << " token " << t
          << " cols " << c.cols << ": expected " << ref << " got " << got;
    }
}

TEST(Matmul, EveryTypeOddShapesAndThreads) {
  const std::vector<Case> cases = {{DType::kF32, 37},  {DType::kF32, 300}, {DType::kF16, 45},
                                   {DType::kF16, 264}, {DType::kBF16, 19}, {DType::kBF16, 136},
                                   {DType::kQ8_0, 32}, {DType::kQ8_0, 96}, {DType::kQ8_0, 320}};
  std::uint32_t seed = 1;
  for (const Case& c : cases)
    for (std::int64_t rows : {1, 5, 17})
      for (std::int64_t tokens : {1, 3, 4, 5, 9}) check_case(c, rows, tokens, seed++);
}

TEST(Matmul, QuantizedTypesThroughTheReferencePath) {
  std::uint32_t seed = 100;
  for (DType t : {DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kQ5_K})
    if (has_dequantize(t) && has_quantize(t)) {
      const std::int64_t block = dtype_traits(t).block_elems;
      for (std::int64_t tokens : {1, 6}) check_case({t, block * 2}, 7, tokens, seed++);
    }
}

}  // namespace
}  // namespace whale
