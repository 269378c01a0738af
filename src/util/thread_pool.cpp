// thread_pool.cpp — persistent workers with a deterministic parallel_for.
#include "util/thread_pool.h"

#include <algorithm>

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

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(static_cast<std::size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_grain_ = grain;
    pending_ = n_threads_ - 1;
    ++generation_;
  }
  start_cv_.notify_all();
  const RowRange mine = split_range(n, n_threads_, 0, grain);
  if (mine.size() > 0) fn(mine, 0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::worker_loop(int thread_index) {
  std::uint64_t seen = 0;
  for (;;) {
    const std::function<void(RowRange, int)>* job = nullptr;
    std::int64_t n = 0;
    std::int64_t grain = 1;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
      n = job_n_;
      grain = job_grain_;
    }
    const RowRange mine = split_range(n, n_threads_, thread_index, grain);
    if (mine.size() > 0) (*job)(mine, thread_index);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

}  // namespace whale
