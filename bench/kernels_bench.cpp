// kernels_bench.cpp — matmul throughput per weight type at the real models' matrix shapes,
// for one activation row (decode) and 64 (prefill), on the exact-activation path and on the
// integer path (activations quantized to Q8). Reports weight bytes/s (the decode roofline's
// currency), op/s (prefill's) and `roof`, the fraction of the machine's limit measured at
// start-up with the same threads: read bandwidth for T=1, the int8 multiply-add peak (integer
// path; the K-quant chain of the kernel set in use, see runtime/roofline.h) or the FP32 FMA peak (exact path)
// for T=64. The matrix is cycled through copies larger than the L3, so T=1 streams from DRAM.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/q8_matmul.h"
#include "runtime/roofline.h"
#include "quant/dequantize.h"
#include "util/aligned_buffer.h"
#include "util/thread_pool.h"
#include "bench_threads.h"

namespace {

using whale::DType;

// {rows (output features), cols (input features)}: a DeepSeek-V3 expert's gate/up (2048x7168)
// and down (7168x2048) projections, a V2-Lite expert's gate/up (1408x2048),
// R1-Distill-Qwen-1.5B's FFN down projection (1536x8960), and a V2-Lite expert's down
// projection (2048x1408: only the 32-element types' blocks divide its rows).
constexpr std::int64_t kShapes[][2] = {{2048, 7168}, {7168, 2048}, {1408, 2048}, {1536, 8960}, {2048, 1408}};
constexpr DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                            DType::kQ4_K, DType::kQ6_K, DType::kQ5_K, DType::kQ4_0,
                            DType::kIQ2_XXS, DType::kIQ1_S, DType::kIQ1_M, DType::kQ2_K,
                            DType::kQ3_K, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                            DType::kIQ4_NL, DType::kIQ4_XS};

// Measured once in main, before the benchmarks run.
struct Limits {
  double read_gbs = 0, fp32_gflops = 0, int8_gops = 0;
};
Limits g_limits;

using whale::bench::bench_threads;

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
  const auto numerics = state.range(3) == 0 ? whale::MatmulNumerics::kExact
                                            : whale::MatmulNumerics::kQ8Activations;
  if (!whale::matmul_supports(type)) {
    state.SkipWithError("type not supported by matmul");
    return;
  }
  // Enough copies of the matrix to exceed the 32 MiB L3 several times over, cycled through,
  // so T=1 measures streaming from memory (the decode case), not cache hits.
  const std::size_t one = *whale::row_bytes(type, cols) * static_cast<std::size_t>(rows);
  // WHALE_BENCH_HOT=1 keeps one copy, cached: the kernel's compute limit, without memory.
  const std::size_t n_copies = std::getenv("WHALE_BENCH_HOT") != nullptr
                                   ? 1
                                   : std::max<std::size_t>(1, (std::size_t{128} << 20) / one + 1);
  // Quantized once and copied: the codebook types' quantizers are too slow to run per copy.
  std::vector<Weights> copies;
  copies.push_back(make_weights(type, rows, cols));
  for (std::size_t i = 1; i < n_copies; ++i) {
    Weights w{whale::AlignedBuffer<std::byte>(one), copies[0].view};
    std::memcpy(w.bytes.data(), copies[0].bytes.data(), one);
    w.view.data = w.bytes.data();
    copies.push_back(std::move(w));
  }
  std::size_t next = 0;
  std::vector<float> x(static_cast<std::size_t>(T * cols)), y(static_cast<std::size_t>(T * rows));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.01f * static_cast<float>(static_cast<int>(i % 97) - 48);
  whale::ThreadPool pool(bench_threads());
  for (auto _ : state) {
    const Weights& w = copies[next++ % copies.size()];
    whale::matmul(w.view, whale::Span2D<const float>(x.data(), T, cols), whale::Span2D<float>(y.data(), T, rows),
                  pool, numerics);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const auto weight_bytes = static_cast<std::int64_t>(one);
  state.SetBytesProcessed(state.iterations() * weight_bytes);
  const double ops = 2.0 * static_cast<double>(T * rows * cols);
  state.counters["OP/s"] = benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate);
  // The fraction of the limit that bounds this case (see the file comment).
  const bool integer = numerics == whale::MatmulNumerics::kQ8Activations &&
                       whale::dtype_traits(type).is_quantized;
  const double limit = T == 1 ? g_limits.read_gbs * 1e9
                              : (integer ? g_limits.int8_gops : g_limits.fp32_gflops) * 1e9;
  const double per_iter = T == 1 ? static_cast<double>(weight_bytes) : ops;
  if (limit > 0)
    state.counters["roof"] =
        benchmark::Counter(per_iter / limit, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(whale::dtype_name(type)) + " " + std::to_string(rows) + "x" + std::to_string(cols) +
                 " T=" + std::to_string(T) + (integer ? " q8-acts" : " exact"));
}

// Arguments: {type index, shape index, activation rows, 0 exact / 1 integer path}. The float
// types have only the exact path; the extra quantized types run at one shape to keep the
// suite short (their quantizers are slow to build the inputs), except Q5_0, which a
// V2-Lite Q4_K file uses for its expert down projections (1408 columns are no multiple of 256).
void matmul_args(benchmark::internal::Benchmark* b) {
  for (std::int64_t t = 0; t < static_cast<std::int64_t>(std::size(kTypes)); ++t) {
    const bool quantized = whale::dtype_traits(kTypes[t]).is_quantized;
    const std::int64_t n_shapes = (t <= 4 || kTypes[t] == DType::kQ5_0) ? static_cast<std::int64_t>(std::size(kShapes)) : 1;
    for (std::int64_t s = 0; s < n_shapes; ++s) {
      if (kShapes[s][1] % whale::dtype_traits(kTypes[t]).block_elems != 0) continue;
      for (std::int64_t rows : {1, 64})
        for (std::int64_t path = 0; path <= (quantized ? 1 : 0); ++path) b->Args({t, s, rows, path});
    }
  }
}

BENCHMARK(bm_matmul)->Apply(matmul_args)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  {
    whale::ThreadPool pool(bench_threads());
    g_limits.read_gbs = whale::measure_read_bandwidth(pool);
    g_limits.fp32_gflops = whale::measure_fp32_fma_peak(pool);
    g_limits.int8_gops = whale::measure_int8_madd_peak(
        pool, &whale::q8_matmul_kernels() == whale::q8_matmul_avx512_vnni());
    benchmark::AddCustomContext("read_GBps", std::to_string(g_limits.read_gbs));
    benchmark::AddCustomContext("fp32_GFLOPs", std::to_string(g_limits.fp32_gflops));
    benchmark::AddCustomContext("int8_GOPs", std::to_string(g_limits.int8_gops));
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
