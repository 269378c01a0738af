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
#include "shared_pool.h"
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

// A view of `bytes` as `rows` stored rows of `cols` elements of type t.
WeightView view_of(DType t, std::int64_t rows, std::int64_t cols, const std::vector<std::byte>& bytes) {
  WeightView w;
  w.dtype = t;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = *row_bytes(t, cols);
  w.data = bytes.data();
  return w;
}

void check_case(const Case& c, std::int64_t rows, std::int64_t tokens, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto bytes = make_weights(c.dtype, rows, c.cols, rng);
  const WeightView w = view_of(c.dtype, rows, c.cols, bytes);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(tokens * c.cols));
  for (auto& v : x) v = dist(rng);
  std::vector<float> wf(static_cast<std::size_t>(rows * c.cols));
  for (std::int64_t r = 0; r < rows; ++r)
    dequantize_row(c.dtype, bytes.data() + r * w.row_bytes, wf.data() + r * c.cols, c.cols);

  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    ThreadPool& pool = test::shared_pool(threads);
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

// A token's outputs are the same bits whatever else shares its matmul: decode's one-token
// product (row dots on the stored row), a prefill's groups of 3 tokens and their tail (rows
// dequantized once), at every place in the batch. Float weights and Q8_0 on the exact path;
// the column counts reach every step of the order (16s, a last 8, a scalar tail).
TEST(Matmul, FloatWeightsGiveATokenTheSameBitsInAnyBatch) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  ThreadPool& pool = test::shared_pool(2);
  const std::vector<Case> cases = {{DType::kF32, 7},   {DType::kF32, 24},  {DType::kF32, 37},
                                   {DType::kF32, 300}, {DType::kF16, 45},  {DType::kF16, 264},
                                   {DType::kBF16, 19}, {DType::kBF16, 136}, {DType::kQ8_0, 96}};
  for (const Case& c : cases) {
    const std::int64_t rows = 5, tokens = 9;
    auto bytes = make_weights(c.dtype, rows, c.cols, rng);
    const WeightView w = view_of(c.dtype, rows, c.cols, bytes);
    std::vector<float> x(static_cast<std::size_t>(tokens * c.cols));
    for (auto& v : x) v = dist(rng);
    std::vector<float> alone(static_cast<std::size_t>(tokens * rows));
    for (std::int64_t t = 0; t < tokens; ++t)
      matmul(w, Span2D<const float>(x.data() + t * c.cols, 1, c.cols), Span2D<float>(alone.data() + t * rows, 1, rows),
             pool, MatmulNumerics::kExact);
    for (std::int64_t n = 2; n <= tokens; ++n)
      for (std::int64_t first = 0; first + n <= tokens; first += n) {
        std::vector<float> y(static_cast<std::size_t>(n * rows));
        matmul(w, Span2D<const float>(x.data() + first * c.cols, n, c.cols), Span2D<float>(y.data(), n, rows), pool,
               MatmulNumerics::kExact);
        for (std::int64_t t = 0; t < n; ++t)
          for (std::int64_t r = 0; r < rows; ++r)
            ASSERT_EQ(y[static_cast<std::size_t>(t * rows + r)], alone[static_cast<std::size_t>((first + t) * rows + r)])
                << dtype_name(c.dtype) << " cols " << c.cols << ": token " << first + t << " of a batch of " << n
                << " from " << first << ", row " << r;
      }
  }
}

TEST(Matmul, QuantizedTypesThroughTheReferencePath) {
  std::uint32_t seed = 100;
  for (DType t : {DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kQ5_K})
    if (has_dequantize(t) && has_quantize(t)) {
      const std::int64_t block = dtype_traits(t).block_elems;
      for (std::int64_t tokens : {1, 6}) check_case({t, block * 2}, 7, tokens, seed++);
    }
}

// matmul_batch must give each product exactly matmul's bits, whatever the thread count: jobs of
// several integer-path types (two sharing one input, as gate and up do), strided inputs and
// outputs (the per-head MLA slices), and a float weight, which sends the batch down the
// one-by-one path.
struct BatchWeight {
  std::vector<std::byte> bytes;
  WeightView view;
};

BatchWeight batch_weight(DType t, std::int64_t rows, std::int64_t cols, std::mt19937& rng) {
  BatchWeight b{make_weights(t, rows, cols, rng), {}};
  b.view.dtype = t;
  b.view.rows = rows;
  b.view.cols = cols;
  b.view.row_bytes = *row_bytes(t, cols);
  b.view.data = b.bytes.data();
  return b;
}

void check_batch(const std::vector<BatchWeight>& ws, std::int64_t tokens, std::mt19937& rng) {
  // Inputs: job 0 and 1 share x0; every other job reads a column slice of one wide matrix.
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::int64_t wide_cols = 0;
  for (std::size_t j = 2; j < ws.size(); ++j) wide_cols += ws[j].view.cols;
  std::vector<float> x0(static_cast<std::size_t>(tokens * ws[0].view.cols)),
      wide(static_cast<std::size_t>(tokens * wide_cols));
  for (auto& v : x0) v = dist(rng);
  for (auto& v : wide) v = dist(rng);
  std::int64_t out_cols = 0;
  for (const auto& w : ws) out_cols += w.view.rows;
  std::vector<float> expected(static_cast<std::size_t>(tokens * out_cols), -1.0f);
  const auto jobs_into = [&](float* y) {
    std::vector<MatmulJob> jobs;
    std::int64_t in_col = 0, out_col = 0;
    for (std::size_t j = 0; j < ws.size(); ++j) {
      const WeightView& w = ws[j].view;
      Span2D<const float> x = j < 2 ? Span2D<const float>(x0.data(), tokens, w.cols)
                                    : Span2D<const float>(wide.data() + in_col, tokens, w.cols, wide_cols);
      if (j >= 2) in_col += w.cols;
      jobs.push_back({&w, x, Span2D<float>(y + out_col, tokens, w.rows, out_cols)});
      out_col += w.rows;
    }
    return jobs;
  };
  {
    ThreadPool& pool = test::shared_pool(1);
    for (const MatmulJob& job : jobs_into(expected.data())) matmul(*job.w, job.x, job.y, pool);
  }
  for (int threads : {1, 2, 3}) {
    ThreadPool& pool = test::shared_pool(threads);
    std::vector<float> got(expected.size(), -2.0f);
    const std::vector<MatmulJob> jobs = jobs_into(got.data());
    matmul_batch(jobs, pool);
    ASSERT_EQ(got, expected) << threads << " threads, " << ws.size() << " jobs, " << tokens << " tokens";
  }
}

TEST(MatmulBatch, EachProductEqualsMatmulBitForBit) {
  std::mt19937 rng(7);
  for (std::int64_t tokens : {1, 2, 5}) {
    std::vector<BatchWeight> ws;
    ws.push_back(batch_weight(DType::kQ4_K, 13, 512, rng));
    ws.push_back(batch_weight(DType::kQ4_K, 6, 512, rng));
    ws.push_back(batch_weight(DType::kQ5_0, 9, 96, rng));
    ws.push_back(batch_weight(DType::kQ8_0, 1, 64, rng));
    ws.push_back(batch_weight(DType::kQ6_K, 21, 256, rng));
    check_batch(ws, tokens, rng);
    ws.push_back(batch_weight(DType::kF16, 5, 40, rng));  // not an integer-path type
    check_batch(ws, tokens, rng);
  }
}

}  // namespace
}  // namespace whale
