// roofline.cpp — run-time choice of the measuring loops and the timed, multi-threaded runs.
#include "runtime/roofline.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "runtime/roofline_isa.h"
#include "util/aligned_buffer.h"
#include "util/check.h"

namespace whale {

namespace roofline_isa {

std::uint64_t read_sum_scalar(const std::uint64_t* words, std::size_t n) {
  std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += words[i];
    s1 += words[i + 1];
    s2 += words[i + 2];
    s3 += words[i + 3];
  }
  for (; i < n; ++i) s0 += words[i];
  return s0 + s1 + s2 + s3;
}

std::uint64_t fma_chains_scalar(std::uint64_t iterations, float* sink) {
  float c[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  for (std::uint64_t i = 0; i < iterations; ++i)
    for (float& x : c) x = x * 0.999999f + 1e-6f;
  *sink = c[0] + c[7];
  return iterations * 8 * 2;
}

std::uint64_t int8_chains_scalar(std::uint64_t iterations, std::int32_t* sink) {
  std::uint8_t u[16];
  std::int8_t s[16];
  for (int j = 0; j < 16; ++j) {
    u[j] = static_cast<std::uint8_t>(j + 1);
    s[j] = static_cast<std::int8_t>(j - 8);
  }
  std::uint32_t acc = 0;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    std::int32_t dot = 0;
    for (int j = 0; j < 16; ++j) dot += static_cast<std::int32_t>(u[j]) * s[j];
    acc += static_cast<std::uint32_t>(dot);
    u[i % 16] = static_cast<std::uint8_t>(acc);  // keeps the dot from being hoisted
  }
  *sink = static_cast<std::int32_t>(acc);
  return iterations * 16 * 2;
}

}  // namespace roofline_isa

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs `per_thread(thread_index)` (returning operations done) on every pool thread at once,
// best of `repeats`; returns operations per second.
template <typename Fn>
double best_rate(ThreadPool& pool, int repeats, Fn per_thread) {
  const int n = pool.size();
  double best = 0.0;
  for (int r = 0; r < repeats; ++r) {
    std::vector<std::uint64_t> ops(static_cast<std::size_t>(n), 0);
    const auto t0 = Clock::now();
    pool.parallel_for(n, [&](RowRange range, int) {
      for (std::int64_t t = range.begin; t < range.end; ++t)
        ops[static_cast<std::size_t>(t)] = per_thread(static_cast<std::size_t>(t));
    });
    const double s = seconds_since(t0);
    std::uint64_t total = 0;
    for (auto o : ops) total += o;
    if (s > 0.0) best = std::max(best, static_cast<double>(total) / s);
  }
  return best;
}

}  // namespace

std::string_view simd_level_name(SimdLevel level) {
  return level == SimdLevel::kAvx2 ? "avx2" : "scalar";
}

SimdLevel detect_simd_level() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kScalar;
}

std::uint64_t read_sum(SimdLevel level, const std::uint64_t* words, std::size_t n) {
  return level == SimdLevel::kAvx2 ? roofline_isa::read_sum_avx2(words, n)
                                   : roofline_isa::read_sum_scalar(words, n);
}

double measure_read_bandwidth(ThreadPool& pool, std::size_t bytes, int passes) {
  WHALE_CHECK(bytes >= 4096 && passes >= 1);
  const SimdLevel level = detect_simd_level();
  const std::size_t n_words = bytes / sizeof(std::uint64_t);
  AlignedBuffer<std::uint64_t> buf(n_words, kLeftUninitialized);
  // Each thread writes the share it will read, so the pages are really there (not the shared
  // zero page) and sit near the thread that reads them.
  const std::int64_t grain = 4096 / sizeof(std::uint64_t);
  pool.parallel_for(static_cast<std::int64_t>(n_words), [&](RowRange r, int) {
    for (std::int64_t i = r.begin; i < r.end; ++i)
      buf[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ull;
  }, grain);
  std::vector<std::uint64_t> sums(static_cast<std::size_t>(pool.size()), 0);
  double best = 0.0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = Clock::now();
    pool.parallel_for(static_cast<std::int64_t>(n_words), [&](RowRange r, int t) {
      sums[static_cast<std::size_t>(t)] +=
          read_sum(level, buf.data() + r.begin, static_cast<std::size_t>(r.size()));
    }, grain);
    const double s = seconds_since(t0);
    if (s > 0.0) best = std::max(best, static_cast<double>(n_words * sizeof(std::uint64_t)) / s);
  }
  // `sums` is written through the pool's std::function, which the optimiser cannot see
  // through, so the reads stay.
  return best / 1e9;
}

double measure_fp32_fma_peak(ThreadPool& pool) {
  const SimdLevel level = detect_simd_level();
  std::vector<float> sinks(static_cast<std::size_t>(pool.size()), 0.0f);
  // ~40 M FMA instructions per thread: tens of milliseconds, long enough to time.
  const std::uint64_t iters = level == SimdLevel::kAvx2 ? 4'000'000 : 20'000'000;
  const double rate = best_rate(pool, 3, [&](std::size_t t) {
    return level == SimdLevel::kAvx2 ? roofline_isa::fma_chains_avx2(iters, &sinks[t])
                                     : roofline_isa::fma_chains_scalar(iters, &sinks[t]);
  });
  return rate / 1e9;
}

double measure_int8_madd_peak(ThreadPool& pool, bool vnni) {
  const SimdLevel level = detect_simd_level();
  std::vector<std::int32_t> sinks(static_cast<std::size_t>(pool.size()), 0);
  const std::uint64_t iters = 4'000'000;
  const double rate = best_rate(pool, 3, [&](std::size_t t) {
    if (level != SimdLevel::kAvx2) return roofline_isa::int8_chains_scalar(iters, &sinks[t]);
    return vnni ? roofline_isa_vnni::int8_chains_512(iters, &sinks[t])
                : roofline_isa::int8_chains_avx2(iters, &sinks[t]);
  });
  return rate / 1e9;
}

double measure_int8_q8_block_peak(ThreadPool& pool, bool vnni) {
  if (detect_simd_level() != SimdLevel::kAvx2) return measure_int8_madd_peak(pool);
  std::vector<float> sinks(static_cast<std::size_t>(pool.size()), 0.0f);
  const std::uint64_t iters = 4'000'000;
  const double rate = best_rate(pool, 3, [&](std::size_t t) {
    return vnni ? roofline_isa_vnni::int8_q8_block_chains_512(iters, &sinks[t])
                : roofline_isa::int8_q8_block_chains_avx2(iters, &sinks[t]);
  });
  return rate / 1e9;
}

}  // namespace whale
