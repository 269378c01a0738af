// bench_threads.h — the thread count of the Google Benchmark binaries that run a ThreadPool.
#pragma once

#include <cstdlib>

#include "util/thread_pool.h"

namespace whale::bench {

// WHALE_BENCH_THREADS=N, else every hardware thread. N=1 gives per-core numbers whose CPU
// column is meaningful on a busy machine.
inline int bench_threads() {
  const char* env = std::getenv("WHALE_BENCH_THREADS");
  const int n = env != nullptr ? std::atoi(env) : 0;
  return n > 0 ? n : whale::ThreadPool::default_threads();
}

}  // namespace whale::bench
