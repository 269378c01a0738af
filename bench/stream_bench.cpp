// stream_bench.cpp — how fast the threads read weight-shaped memory in the orders the decode
// kernels could read it, with and without software prefetch, so that a kernel's walk can be
// chosen from the machine's behaviour rather than guessed. No kernel arithmetic: each 288
// bytes (a Q4_K row pair's block) may add a chain of `work` dependent multiply-adds, a stand-in
// for the dot products that keep the core busy between loads.
//
// Each thread reads its contiguous share of a buffer far larger than the caches, as decode
// does with a matrix's rows, in rows of 4032 bytes (a Q4_K row of 7168 columns, 28 blocks of
// 144 bytes):
//   sequential            its bytes in address order (one row at a time);
//   sequential_prefetch   the same, each block prefetched kPrefetchBytes ahead (prefetch_ahead);
//   adjacent_pairs        rows 2i and 2i + 1 block by block (the row-pair tiles' order);
//   adjacent_pairs_pf     the same with one prefetch pointer in address order, kPrefetchBytes past
//                         the second row (prefetch_rows_in_order);
//   two_long_streams      row i of the share's first half with row i of its second half.
// Run: build/release/bench/whale-stream-bench [--benchmark_filter=pairs]; WHALE_BENCH_THREADS
// as in whale-kernels-bench.
#include <benchmark/benchmark.h>
#include <xmmintrin.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/q8_matmul_args.h"
#include "util/aligned_buffer.h"
#include "util/thread_pool.h"
#include "bench_threads.h"

namespace {

constexpr std::size_t kBlock = 144;
constexpr std::size_t kRowBlocks = 28;
constexpr std::size_t kRowBytes = kBlock * kRowBlocks;
constexpr std::size_t kRows = std::size_t{1} << 17;  // 528 MB, far past any L3

enum class Order { kSequential, kSequentialPrefetch, kAdjacentPairs, kAdjacentPairsPrefetch, kTwoLongStreams };

using whale::bench::bench_threads;

// Folds n bytes at p into acc (8-byte loads), then `work` dependent multiply-add links.
inline std::uint64_t consume(std::uint64_t acc, const std::uint8_t* p, std::size_t n, int work) {
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, p + i, 8);
    acc ^= v;
  }
  for (int i = 0; i < work; ++i) acc = acc * 0x9E3779B97F4A7C15ull + 1;
  return acc;
}

inline void prefetch_lines(const std::uint8_t* p, std::size_t n) {
  for (std::size_t l = 0; l < n; l += 64) _mm_prefetch(reinterpret_cast<const char*>(p + l), _MM_HINT_T1);
}

// Rows [r0, r1) of buf in the given order; returns the folded bytes (kept, so nothing is elided).
std::uint64_t read_rows(const std::uint8_t* buf, std::size_t r0, std::size_t r1, Order order, int work) {
  std::uint64_t acc = 0;
  const auto row = [&](std::size_t r) { return buf + r * kRowBytes; };
  switch (order) {
    case Order::kSequential:
    case Order::kSequentialPrefetch:
      for (const std::uint8_t* p = row(r0); p + 2 * kBlock <= row(r1); p += 2 * kBlock) {
        if (order == Order::kSequentialPrefetch) prefetch_lines(p + whale::kPrefetchBytes, 2 * kBlock);
        acc = consume(acc, p, 2 * kBlock, work);
      }
      break;
    case Order::kAdjacentPairs:
    case Order::kAdjacentPairsPrefetch:
      for (std::size_t r = r0; r + 1 < r1; r += 2)
        for (std::size_t b = 0; b < kRowBlocks; ++b) {
          if (order == Order::kAdjacentPairsPrefetch)
            prefetch_lines(row(r + 1) + whale::kPrefetchBytes + 2 * kBlock * b, 2 * kBlock);
          acc = consume(acc, row(r) + kBlock * b, kBlock, 0);
          acc = consume(acc, row(r + 1) + kBlock * b, kBlock, work);
        }
      break;
    case Order::kTwoLongStreams: {
      const std::size_t half = (r1 - r0) / 2;
      for (std::size_t r = r0; r < r0 + half; ++r)
        for (std::size_t b = 0; b < kRowBlocks; ++b) {
          acc = consume(acc, row(r) + kBlock * b, kBlock, 0);
          acc = consume(acc, row(r + half) + kBlock * b, kBlock, work);
        }
      break;
    }
  }
  return acc;
}

void bm_stream(benchmark::State& state) {
  const auto order = static_cast<Order>(state.range(0));
  const auto work = static_cast<int>(state.range(1));
  static whale::AlignedBuffer<std::uint8_t> buf = [] {
    whale::AlignedBuffer<std::uint8_t> b(kRows * kRowBytes);
    std::memset(b.data(), 1, b.size());  // touch every page before timing
    return b;
  }();
  static whale::ThreadPool pool(bench_threads());
  std::uint64_t sink = 0;
  for (auto _ : state) {
    pool.parallel_for(pool.size(), [&](whale::RowRange, int t) {
      const std::size_t n = static_cast<std::size_t>(pool.size());
      const std::uint64_t s = read_rows(buf.data(), kRows * static_cast<std::size_t>(t) / n,
                                        kRows * static_cast<std::size_t>(t + 1) / n, order, work);
      if (t == 0) sink ^= s;
    });
  }
  benchmark::DoNotOptimize(sink);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kRows * kRowBytes));
  static const char* const kNames[] = {"sequential", "sequential_prefetch", "adjacent_pairs", "adjacent_pairs_pf",
                                       "two_long_streams"};
  state.SetLabel(kNames[state.range(0)]);
}

// The orders run one after another at each work level (Google Benchmark varies the first
// argument fastest), so a change of the machine's memory state (shared
// VMs switch between two bandwidths within minutes) shows as a jump across all of them.
BENCHMARK(bm_stream)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {0, 16}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
