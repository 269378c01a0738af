// thread_pool.cpp — persistent workers with a deterministic parallel_for.
#include "util/thread_pool.h"

#include <algorithm>
#include <chrono>

#include "util/check.h"

namespace whale {

RowRange split_range(std::int64_t n, int n_threads, int thread_index, std::int64_t grain) {
  WHALE_CHECK(n_threads > 0 && thread_index >= 0 && thread_index < n_threads && grain > 0);
  const std::int64_t n_grains = (n + grain - 1) / grain;
  const std::int64_t base = n_grains / n_threads;
  const std::int64_t extra = n_grains % n_threads;
  const std::int64_t first = thread_index * base + std::min<std::int64_t>(thread_index, extra);
  const std::int64_t count = base + (thread_index < extra ? 1 : 0);
  return {std::min(n, first * grain), std::min(n, (first + count) * grain)};
}

namespace {

// How long an idle worker polls for the next job before it sleeps: first with the pause
// instruction, then yielding the core to any other runnable thread (on a busy machine a
// spinning worker would otherwise take the core its own caller needs). Decode's gaps between
// jobs (norms, attention of one token) are far shorter; a server idle between requests stops
// polling after this long.
constexpr std::chrono::microseconds kPauseSpin{20};
constexpr std::chrono::microseconds kSpin{300};
// How long the caller polls for the workers to finish before it sleeps until the last one
// wakes it (a worker descheduled on a busy machine may take a whole time slice).
constexpr std::chrono::microseconds kCallerSpin{50};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(static_cast<std::size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
  }
  start_cv_.notify_all();
  for (auto& w : workers_) w.join();
}

int ThreadPool::default_threads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void ThreadPool::parallel_for(std::int64_t n, const std::function<void(RowRange, int)>& fn,
                              std::int64_t grain) {
  if (n <= 0) return;
  if (n_threads_ == 1) {
    fn({0, n}, 0);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  // A worker about to sleep first counts itself in sleepers_ and then re-reads generation_
  // (both sequentially consistent), so it either sees the new job or is counted here; taking
  // the mutex before notifying makes sure a counted worker is already waiting.
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }
    start_cv_.notify_all();
  }
  const RowRange mine = split_range(n, n_threads_, 0, grain);
  if (mine.size() > 0) fn(mine, 0);
  const auto spin_until = std::chrono::steady_clock::now() + kCallerSpin;
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) {
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > spin_until) {
      // The same hand-off as the workers' sleep: count in caller_waiting_, then re-check.
      // An exchange, not a store: every side of the pool's two hand-offs is then a
      // read-modify-write followed by a load. With a plain seq_cst store the kernel tests hung
      // about one run in three under qemu-aarch64 (caller asleep here, workers idle), and none in
      // twelve with the exchange. The likely cause: qemu-user on x86 lets the store-release pass
      // the following load-acquire of pending_ through the host's store buffer (AArch64 itself
      // orders STLR before LDAR), so caller and last worker could each miss the other.
      std::unique_lock<std::mutex> lock(mutex_);
      caller_waiting_.exchange(true, std::memory_order_seq_cst);
      done_cv_.wait(lock, [&] { return pending_.load(std::memory_order_seq_cst) == 0; });
      caller_waiting_.store(false, std::memory_order_relaxed);
      break;
    }
  }
  job_ = nullptr;
}

bool ThreadPool::wait_for_job(std::uint64_t seen) {
  const auto has_job = [&] {
    return stopping_.load(std::memory_order_acquire) ||
           generation_.load(std::memory_order_acquire) != seen;
  };
  const auto start = std::chrono::steady_clock::now();
  bool pausing = true;
  for (int i = 0; !has_job(); ++i) {
    if (pausing)
      cpu_relax();
    else
      std::this_thread::yield();
    if ((i & 63) != 63) continue;
    const auto waited = std::chrono::steady_clock::now() - start;
    pausing = waited < kPauseSpin;
    if (waited > kSpin) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      start_cv_.wait(lock, [&] {
        return stopping_.load(std::memory_order_seq_cst) ||
               generation_.load(std::memory_order_seq_cst) != seen;
      });
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      break;
    }
  }
  return !stopping_.load(std::memory_order_acquire);
}

void ThreadPool::worker_loop(int thread_index) {
  std::uint64_t seen = 0;
  while (wait_for_job(seen)) {
    seen = generation_.load(std::memory_order_acquire);
    const RowRange mine = split_range(job_n_, n_threads_, thread_index, job_grain_);
    if (mine.size() > 0) (*job_)(mine, thread_index);
    if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        caller_waiting_.load(std::memory_order_seq_cst)) {
      { std::lock_guard<std::mutex> lock(mutex_); }
      done_cv_.notify_one();
    }
  }
}

}  // namespace whale
