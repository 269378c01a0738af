// attention_bench.cpp — attend() (kernels/attention.h) per kernel, for one head over a context
// of n_keys positions: a decode step (1 query at the end) and a whole causal prompt (one query
// per position), against `per-key`, the loop whale ran before this kernel (one dot product, a
// softmax and one axpy per query and key). Shapes: the 1.5B model's head (128 / 128) and MLA's
// expanded head (128 + 64 / 128). Reports FLOP/s (2 per multiply-add of q·k and of p·v).
// Args: {kernel (0 per-key, 1 portable, 2 avx2, 3 avx512), shape, n_keys, whole prompt?}.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/attention.h"
#include "kernels/ops.h"

namespace {

using namespace whale;

constexpr std::int64_t kShapes[][3] = {{128, 0, 128}, {128, 64, 128}, {512, 64, 512}};  // len_a, len_b, v_dim
const char* const kKernels[] = {"per-key", "portable", "avx2", "avx512"};

void per_key(const AttentionKv& kv, const AttentionQueries& q, std::vector<float>& sc) {
  for (std::int64_t i = 0; i < q.n; ++i) {
    const std::int64_t n = q.n_pos[i];
    for (std::int64_t p = 0; p < n; ++p)
      sc[static_cast<std::size_t>(p)] =
          q.scale * (dot_f32(q.query[i], kv.key_a[p], kv.len_a) +
                     (kv.len_b > 0 ? dot_f32(q.query[i] + kv.len_a, kv.key_b[p], kv.len_b) : 0.0f));
    softmax({sc.data(), static_cast<std::size_t>(n)});
    for (std::int64_t e = 0; e < kv.v_dim; ++e) q.out[i][e] = 0.0f;
    for (std::int64_t p = 0; p < n; ++p)
      axpy(sc[static_cast<std::size_t>(p)], {kv.value[p], static_cast<std::size_t>(kv.v_dim)},
           {q.out[i], static_cast<std::size_t>(kv.v_dim)});
  }
}

void bm_attend(benchmark::State& state) {
  const auto kernel = static_cast<std::size_t>(state.range(0));
  const std::int64_t* shape = kShapes[state.range(1)];
  const std::int64_t n_keys = state.range(2), mode = state.range(3);
  const std::int64_t n_queries = mode == 1 ? n_keys : mode == 2 ? 8 : 1;
  const AttendFn fn = kernel == 0 ? nullptr : attend_kernel(kKernels[kernel]);
  if (kernel != 0 && fn == nullptr) {
    state.SkipWithError("this CPU lacks the kernel's ISA");
    return;
  }
  const std::int64_t len_a = shape[0], len_b = shape[1], v_dim = shape[2], dim = len_a + len_b;
  std::mt19937 rng(1);
  std::normal_distribution<float> g;
  std::vector<float> keys(static_cast<std::size_t>(n_keys * (dim + v_dim))), queries(static_cast<std::size_t>(n_queries * dim)),
      out(static_cast<std::size_t>(n_queries * v_dim));
  for (float& x : keys) x = g(rng);
  for (float& x : queries) x = g(rng);
  std::vector<const float*> key_a, key_b, value, query;
  std::vector<float*> outs;
  std::vector<std::int64_t> n_pos;
  for (std::int64_t p = 0; p < n_keys; ++p) {
    float* row = keys.data() + p * (dim + v_dim);
    key_a.push_back(row);
    key_b.push_back(row + len_a);
    value.push_back(row + dim);
  }
  double flops = 0;
  for (std::int64_t i = 0; i < n_queries; ++i) {
    query.push_back(queries.data() + i * dim);
    outs.push_back(out.data() + i * v_dim);
    n_pos.push_back(mode == 1 ? i + 1 : n_keys);
    flops += 2.0 * static_cast<double>(n_pos.back() * (dim + v_dim));
  }
  const AttentionKv kv{n_keys, key_a.data(), len_a, key_b.data(), len_b, value.data(), v_dim};
  const AttentionQueries q{n_queries, query.data(), n_pos.data(), outs.data(), 0.07f};
  std::vector<float> work(static_cast<std::size_t>(attend_work_floats(kv))), sc(static_cast<std::size_t>(n_keys));
  for (auto _ : state) {
    if (fn != nullptr)
      fn(kv, q, work.data());
    else
      per_key(kv, q, sc);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  const char* const kShapeNames[] = {" gqa", " mla", " mla-absorbed"};
  const char* const kModes[] = {" decode", " prompt", " decode x8"};
  state.SetLabel(std::string(kKernels[kernel]) + kShapeNames[state.range(1)] + kModes[mode]);
}

BENCHMARK(bm_attend)
    ->ArgsProduct({{0, 1, 2, 3}, {0, 1}, {512, 4096}, {0, 1}})
    ->ArgsProduct({{0, 3}, {2}, {512, 4096}, {2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
