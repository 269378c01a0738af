// shared_pool.h — one ThreadPool per thread count for a whole test process.
//
// The kernel tests try hundreds of shapes at 1–3 threads; a pool per case started and joined
// thousands of threads, and qemu-user, which runs these tests for AArch64 in CI, keeps memory
// for every thread it has run: the Q8 kernels test reached 1.7 GB. (The hangs seen then under
// qemu-aarch64 had another cause, a lost wake-up in the pool's hand-off under qemu's memory
// ordering, mended in util/thread_pool.cpp.) gtest runs tests on one thread, so no lock is needed.
#pragma once

#include <array>
#include <memory>

#include "util/thread_pool.h"

namespace whale::test {

inline ThreadPool& shared_pool(int threads) {
  static std::array<std::unique_ptr<ThreadPool>, 9> pools;
  auto& pool = pools.at(static_cast<std::size_t>(threads));
  if (pool == nullptr) pool = std::make_unique<ThreadPool>(threads);
  return *pool;
}

}  // namespace whale::test
