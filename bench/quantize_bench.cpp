// quantize_bench.cpp — quantize_row throughput per type (input params/s), the cost that
// dominates `whale quantize` / `whale convert --type`: one 7168-wide row (a DeepSeek-V3 hidden
// row, 28 super-blocks) of Gaussian values, quantized again and again.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "quant/dequantize.h"
#include "quant/dtype.h"

namespace whale {
namespace {

constexpr std::int64_t kCols = 7168;

void BM_QuantizeRow(benchmark::State& state, DType t) {
  std::mt19937_64 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.02f);  // trained-weight magnitudes
  // Several distinct rows so the branch predictor cannot learn one row's searches.
  constexpr int kRows = 8;
  std::vector<float> x(static_cast<std::size_t>(kCols * kRows));
  for (auto& v : x) v = normal(rng);
  const std::size_t bytes = *row_bytes(t, kCols);
  std::vector<std::byte> q(bytes);
  int r = 0;
  for (auto _ : state) {
    quantize_row(t, x.data() + static_cast<std::size_t>(r) * kCols, q.data(), kCols);
    benchmark::DoNotOptimize(q.data());
    r = (r + 1) % kRows;
  }
  state.SetItemsProcessed(state.iterations() * kCols);  // items = params
}

const int kRegistered = [] {
  for (DType t : {DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K,
                  DType::kQ8_K, DType::kIQ4_XS, DType::kIQ4_NL, DType::kQ4_0, DType::kQ8_0,
                  DType::kIQ2_XXS, DType::kIQ1_S, DType::kIQ1_M})
    benchmark::RegisterBenchmark(("quantize_row/" + std::string(dtype_name(t))).c_str(),
                                 BM_QuantizeRow, t);
  return 0;
}();

}  // namespace
}  // namespace whale

BENCHMARK_MAIN();
