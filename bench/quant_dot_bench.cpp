// quant_dot_bench.cpp — weight bytes/s of the quantized dot kernels (scalar vs AVX2) over a
// 2048 x 7168 matrix (a DeepSeek-V3 expert projection), one activation row.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/quant_dot.h"
#include "quant/dequantize.h"
#include "quant/dtype.h"

namespace whale {
namespace {

constexpr std::int64_t kRows = 2048;
constexpr std::int64_t kCols = 7168;

struct Matrix {
  std::vector<std::byte> w, x;
  std::size_t w_row_bytes = 0;
};

Matrix make_matrix(DType wt, DType xt) {
  std::mt19937_64 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(kCols);
  Matrix m;
  m.w_row_bytes = *row_bytes(wt, kCols);
  m.w.resize(m.w_row_bytes * kRows);
  for (std::int64_t r = 0; r < kRows; ++r) {
    for (auto& v : row) v = normal(rng);
    quantize_row(wt, row.data(), m.w.data() + r * m.w_row_bytes, kCols);
  }
  for (auto& v : row) v = normal(rng);
  m.x.resize(*row_bytes(xt, kCols));
  quantize_row(xt, row.data(), m.x.data(), kCols);
  return m;
}

void run(benchmark::State& state, const QuantDotKernels* k, QuantDotFn QuantDotKernels::*fn,
         DType wt, DType xt) {
  if (k == nullptr) {
    state.SkipWithError("ISA not available");
    return;
  }
  const Matrix m = make_matrix(wt, xt);
  std::vector<float> y(kRows);
  for (auto _ : state) {
    for (std::int64_t r = 0; r < kRows; ++r)
      y[static_cast<std::size_t>(r)] = (k->*fn)(m.w.data() + r * m.w_row_bytes, m.x.data(), kCols);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(m.w.size()));
}

void BM_Q8_0_Ref(benchmark::State& s) {
  run(s, &quant_dot_ref(), &QuantDotKernels::dot_q8_0_q8_0, DType::kQ8_0, DType::kQ8_0);
}
void BM_Q8_0_Avx2(benchmark::State& s) {
  run(s, quant_dot_avx2(), &QuantDotKernels::dot_q8_0_q8_0, DType::kQ8_0, DType::kQ8_0);
}
void BM_Q4_K_Ref(benchmark::State& s) {
  run(s, &quant_dot_ref(), &QuantDotKernels::dot_q4_k_q8_k, DType::kQ4_K, DType::kQ8_K);
}
void BM_Q4_K_Avx2(benchmark::State& s) {
  run(s, quant_dot_avx2(), &QuantDotKernels::dot_q4_k_q8_k, DType::kQ4_K, DType::kQ8_K);
}
void BM_Q6_K_Ref(benchmark::State& s) {
  run(s, &quant_dot_ref(), &QuantDotKernels::dot_q6_k_q8_k, DType::kQ6_K, DType::kQ8_K);
}
void BM_Q6_K_Avx2(benchmark::State& s) {
  run(s, quant_dot_avx2(), &QuantDotKernels::dot_q6_k_q8_k, DType::kQ6_K, DType::kQ8_K);
}

BENCHMARK(BM_Q8_0_Ref)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Q8_0_Avx2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Q4_K_Ref)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Q4_K_Avx2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Q6_K_Ref)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Q6_K_Avx2)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace whale
