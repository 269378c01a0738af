// thread_pool.h — persistent workers with a deterministic parallel_for over index ranges.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace whale {

// A half-open range of rows (or any index) given to one worker.
struct RowRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};

// Splits [0, n) into n_threads contiguous chunks whose boundaries are multiples of `grain`
// (except the last). The split depends only on (n, n_threads, grain), so the same thread count
// always gives the same partition and therefore the same bits.
RowRange split_range(std::int64_t n, int n_threads, int thread_index, std::int64_t grain = 1);

// Workers live as long as the pool. parallel_for blocks until every chunk is done; the calling
// thread runs chunk 0 itself. Not reentrant: one parallel_for at a time per pool.
//
// Decode issues hundreds of small parallel_for calls per token (one per matmul, per expert and
// per head), so waking a sleeping worker through the kernel on each would cost more than many
// of the jobs: idle workers first poll the job counter for a short while and only then sleep on
// a condition variable; the caller polls the completion count briefly, then sleeps until the
// last worker wakes it, so a busy machine still runs the workers.
class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // fn(range, thread_index) is called once per thread with that thread's share of [0, n).
  // Threads whose share is empty are not called.
  void parallel_for(std::int64_t n, const std::function<void(RowRange, int)>& fn,
                    std::int64_t grain = 1);

  // The machine's hardware threads (at least 1).
  static int default_threads();

 private:
  void worker_loop(int thread_index);
  // Waits until generation_ differs from `seen` or the pool stops; returns false on stop.
  bool wait_for_job(std::uint64_t seen);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;  // guards the sleep/wake hand-off only
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  // Job fields are written before generation_ is bumped (release) and read after it is seen
  // (acquire).
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_waiting_{false};
  std::atomic<bool> stopping_{false};
  const std::function<void(RowRange, int)>* job_ = nullptr;
  std::int64_t job_n_ = 0;
  std::int64_t job_grain_ = 1;
};

}  // namespace whale
