// kernels_bench.cpp — matmul throughput per weight type at the real models' matrix shapes,
// for one activation row (decode) and 64 (prefill). Reports weight bytes/s (the decode
// roofline's currency) and FLOP/s (prefill's).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "kernels/matmul.h"
#include "quant/dequantize.h"
#include "util/aligned_buffer.h"
#include "util/thread_pool.h"

namespace {

using whale::DType;

// {rows (output features), cols (input features)}: a DeepSeek-V3 expert's gate/up (2048x7168)
// and down (7168x2048) projections, a V2-Lite expert's gate/up (1408x2048), and
// R1-Distill-Qwen-1.5B's FFN down projection (1536x8960).
constexpr std::int64_t kShapes[][2] = {{2048, 7168}, {7168, 2048}, {1408, 2048}, {1536, 8960}};
constexpr DType kTypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0};

struct Weights {
  whale::AlignedBuffer<std::byte> bytes;
  whale::WeightView view;
};

Weights make_weights(DType t, std::int64_t rows, std::int64_t cols) {
  const std::size_t rb = *whale::row_bytes(t, cols);
  Weights w{whale::AlignedBuffer<std::byte>(rb * static_cast<std::size_t>(rows)), {}};
  std::vector<float> row(static_cast<std::size_t>(cols));
  std::uint32_t x = 12345;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) {
      x = x * 1664525u + 1013904223u;
      v = static_cast<float>(static_cast<std::int32_t>(x)) * 0x1p-37f;  // about ±0.016
    }
    whale::quantize_row(t, row.data(), w.bytes.data() + rb * static_cast<std::size_t>(r), cols);
  }
  w.view.dtype = t;
  w.view.rows = rows;
  w.view.cols = cols;
  w.view.row_bytes = rb;
  w.view.data = w.bytes.data();
  return w;
}

void bm_matmul(benchmark::State& state) {
  const auto type = kTypes[state.range(0)];
  const auto* shape = kShapes[state.range(1)];
  const std::int64_t T = state.range(2), rows = shape[0], cols = shape[1];
  if (!whale::matmul_supports(type)) {
    state.SkipWithError("type not supported by matmul");
    return;
  }
  const Weights w = make_weights(type, rows, cols);
  std::vector<float> x(static_cast<std::size_t>(T * cols), 0.01f), y(static_cast<std::size_t>(T * rows));
  whale::ThreadPool pool(whale::ThreadPool::default_threads());
  for (auto _ : state) {
    whale::matmul(w.view, whale::Span2D<const float>(x.data(), T, cols), whale::Span2D<float>(y.data(), T, rows),
                  pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const auto weight_bytes = static_cast<std::int64_t>(w.view.row_bytes) * rows;
  state.SetBytesProcessed(state.iterations() * weight_bytes);
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(T * rows * cols),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(whale::dtype_name(type)) + " " + std::to_string(rows) + "x" + std::to_string(cols) +
                 " T=" + std::to_string(T));
}

// Arguments: {type index, shape index, activation rows}.
void matmul_args(benchmark::internal::Benchmark* b) {
  for (std::int64_t t = 0; t < static_cast<std::int64_t>(std::size(kTypes)); ++t)
    for (std::int64_t s = 0; s < static_cast<std::int64_t>(std::size(kShapes)); ++s)
      for (std::int64_t rows : {1, 64}) b->Args({t, s, rows});
}

BENCHMARK(bm_matmul)->Apply(matmul_args)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
