// util_test.cpp — Result/Error, thread pool partitioning, aligned buffers, progress bar.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "unit/test_files.h"
#include "util/aligned_buffer.h"
#include "util/progress.h"
#include "util/status.h"
#include "util/terminal_text.h"
#include "util/thread_pool.h"

namespace whale {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return Error("value {} is not positive", x);
  return x;
}

Result<int> doubled(int x) {
  WHALE_TRY(int v, parse_positive(x));
  return 2 * v;
}

Result<void> check_both(int a, int b) {
  WHALE_TRY_VOID(parse_positive(a).context("first"));
  if (b != 0) {
    WHALE_TRY(int unused, parse_positive(b));
    (void)unused;
  }
  return {};
}

TEST(Status, ErrorFormatsAndChainsContextOutermostFirst) {
  Error e("bad {} at {}", "thing", 42);
  EXPECT_EQ(e.message(), "bad thing at 42");
  e.context("reading {}", "x.gguf");
  std::move(e).context("loading");
  EXPECT_EQ(e.what(), "loading: reading x.gguf: bad thing at 42");
}

TEST(Status, ResultCarriesValueOrError) {
  Result<int> ok = doubled(21);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);
  Result<int> bad = doubled(-3);
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(static_cast<bool>(bad));
  EXPECT_EQ(bad.error().what(), "value -3 is not positive");
  Result<int> ctx = doubled(0).context("item {}", 7);
  EXPECT_EQ(ctx.error().what(), "item 7: value 0 is not positive");
}

TEST(Status, ResultVoidAndTryVoid) {
  EXPECT_TRUE(check_both(1, 2).ok());
  auto r = check_both(-1, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().what(), "first: value -1 is not positive");
  auto r2 = check_both(1, -5);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().what(), "value -5 is not positive");
  Result<void> ctx = Result<void>(Error("inner")).context("outer {}", 1);
  EXPECT_EQ(ctx.error().what(), "outer 1: inner");
  EXPECT_TRUE(Result<void>().context("unused").ok());
}

TEST(Status, ResultMovesOutNonCopyableValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

// The partition must tile [0, n) exactly with contiguous, ordered, grain-aligned chunks whose
// sizes differ by at most one grain.
TEST(SplitRange, PartitionsExactlyAndDeterministically) {
  for (std::int64_t grain : {1, 3, 32}) {
    for (int threads = 1; threads <= 9; ++threads) {
      for (std::int64_t n = 0; n <= 200; ++n) {
        std::int64_t expect_begin = 0;
        std::int64_t min_grains = INT64_MAX, max_grains = 0;
        for (int t = 0; t < threads; ++t) {
          const RowRange r = split_range(n, threads, t, grain);
          ASSERT_EQ(r.begin, expect_begin) << "n=" << n << " threads=" << threads << " t=" << t;
          ASSERT_GE(r.end, r.begin);
          if (r.end != n) {
            ASSERT_EQ(r.end % grain, 0) << "chunk end not on a grain boundary";
          }
          const std::int64_t g = (r.size() + grain - 1) / grain;
          min_grains = std::min(min_grains, g);
          max_grains = std::max(max_grains, g);
          expect_begin = r.end;
          const RowRange again = split_range(n, threads, t, grain);
          ASSERT_EQ(again.begin, r.begin);
          ASSERT_EQ(again.end, r.end);
        }
        ASSERT_EQ(expect_begin, n) << "n=" << n << " threads=" << threads;
        ASSERT_LE(max_grains - min_grains, 1) << "unbalanced split n=" << n;
      }
    }
  }
}

TEST(SplitRange, HandWorkedExample) {
  // 10 rows, grain 4 -> 3 grains over 2 threads: thread 0 gets grains 0-1, thread 1 grain 2.
  EXPECT_EQ(split_range(10, 2, 0, 4).begin, 0);
  EXPECT_EQ(split_range(10, 2, 0, 4).end, 8);
  EXPECT_EQ(split_range(10, 2, 1, 4).begin, 8);
  EXPECT_EQ(split_range(10, 2, 1, 4).end, 10);
  // 7 rows over 3 threads: 3, 2, 2.
  EXPECT_EQ(split_range(7, 3, 0).end, 3);
  EXPECT_EQ(split_range(7, 3, 1).end, 5);
  EXPECT_EQ(split_range(7, 3, 2).end, 7);
}

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 7}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (std::int64_t n = 0; n <= 100; ++n) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      std::vector<std::atomic<int>> calls_by_thread(static_cast<std::size_t>(threads));
      pool.parallel_for(n, [&](RowRange r, int t) {
        ASSERT_GE(t, 0);
        ASSERT_LT(t, threads);
        calls_by_thread[static_cast<std::size_t>(t)]++;
        // Each thread gets exactly its split_range share.
        const RowRange expected = split_range(n, threads, t, 1);
        EXPECT_EQ(r.begin, expected.begin);
        EXPECT_EQ(r.end, expected.end);
        EXPECT_GT(r.size(), 0) << "empty shares must not be called";
        for (std::int64_t i = r.begin; i < r.end; ++i) hits[static_cast<std::size_t>(i)]++;
      });
      for (std::int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[static_cast<std::size_t>(i)].load(), 1)
            << "index " << i << " n=" << n << " threads=" << threads;
      for (int t = 0; t < threads; ++t)
        ASSERT_LE(calls_by_thread[static_cast<std::size_t>(t)].load(), 1);
    }
  }
}

TEST(ThreadPool, GrainAndManySuccessiveJobs) {
  ThreadPool pool(3);
  std::vector<std::int64_t> out(1000, 0);
  for (int round = 1; round <= 200; ++round) {
    pool.parallel_for(
        1000,
        [&](RowRange r, int) {
          if (r.end != 1000) {
            EXPECT_EQ(r.end % 16, 0);
          }
          for (std::int64_t i = r.begin; i < r.end; ++i) out[static_cast<std::size_t>(i)] += i;
        },
        16);
  }
  for (std::int64_t i = 0; i < 1000; ++i) ASSERT_EQ(out[static_cast<std::size_t>(i)], 200 * i);
}

// Every hand-off path of the polling pool: jobs back to back (workers still polling), jobs after
// idle gaps longer than the polling window (workers asleep on the condition variable), and
// jobs whose worker shares outlast the caller's own (the caller asleep until the last worker
// wakes it). A lost wake-up would hang the test (ctest's timeout); a missed or repeated share
// would break the sums.
TEST(ThreadPool, EveryHandOffPathCompletesEachJobOnce) {
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    std::vector<std::int64_t> sum(static_cast<std::size_t>(threads), 0);
    std::int64_t expected = 0;
    for (int round = 0; round < 60; ++round) {
      const int kind = round % 3;
      if (kind == 1) std::this_thread::sleep_for(std::chrono::milliseconds(3));  // workers sleep
      pool.parallel_for(threads, [&](RowRange r, int t) {
        if (kind == 2 && t != 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // caller sleeps
        sum[static_cast<std::size_t>(t)] += r.size() * (round + 1);
      });
      expected += round + 1;
    }
    for (int t = 0; t < threads; ++t) EXPECT_EQ(sum[static_cast<std::size_t>(t)], expected) << "thread " << t;
  }
}

TEST(ThreadPool, ZeroOrNegativeThreadsMeansOne) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), 1);
  int calls = 0;
  pool.parallel_for(5, [&](RowRange r, int t) {
    ++calls;
    EXPECT_EQ(t, 0);
    EXPECT_EQ(r.begin, 0);
    EXPECT_EQ(r.end, 5);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_GE(ThreadPool::default_threads(), 1);
}

TEST(AlignedBuffer, AlignedZeroedAndMovable) {
  for (std::size_t n : {1u, 3u, 15u, 16u, 17u, 1000u}) {
    AlignedBuffer<float> b(n);
    ASSERT_EQ(b.size(), n);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % kCacheLineBytes, 0u) << n;
    for (float v : b) EXPECT_EQ(v, 0.0f);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<float>(i);
    float* p = b.data();
    AlignedBuffer<float> moved(std::move(b));
    EXPECT_EQ(moved.data(), p);
    EXPECT_EQ(moved.size(), n);
    EXPECT_EQ(b.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is the contract
    EXPECT_EQ(b.size(), 0u);
    EXPECT_TRUE(b.empty());
    AlignedBuffer<float> assigned(4);
    assigned = std::move(moved);
    EXPECT_EQ(assigned.data(), p);
    EXPECT_EQ(assigned[n - 1], static_cast<float>(n - 1));
    EXPECT_EQ(assigned.span().size(), n);
  }
  // From 2 MiB up the buffer starts on a huge-page boundary (so THP can back all of it), and is
  // still zeroed and whole.
  for (std::size_t bytes : {kHugePageBytes, kHugePageBytes + 4, 3 * kHugePageBytes + 100}) {
    AlignedBuffer<std::uint8_t> big(bytes);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(big.data()) % kHugePageBytes, 0u) << bytes;
    EXPECT_EQ(big[0], 0u);
    EXPECT_EQ(big[bytes - 1], 0u);
    big[bytes - 1] = 7;
    EXPECT_EQ(big[bytes - 1], 7u);
  }
  AlignedBuffer<std::uint8_t> empty(0);
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.data(), nullptr);
  AlignedBuffer<double> d;
  EXPECT_EQ(d.begin(), d.end());
}

TEST(ProgressBar, RenderFormatsBarPercentAndAmounts) {
  EXPECT_EQ(ProgressBar::render("load", 3, 10, "", 10), "load [###.......]  30% 3/10");
  EXPECT_EQ(ProgressBar::render("load", 0, 10, "", 4), "load [....]   0% 0/10");
  EXPECT_EQ(ProgressBar::render("load", 10, 10, "", 4), "load [####] 100% 10/10");
  // Past the end is clamped to 100%, a zero total counts as done.
  EXPECT_EQ(ProgressBar::render("x", 20, 10, "", 4), "x [####] 100% 20/10");
  EXPECT_EQ(ProgressBar::render("x", 0, 0, "", 2), "x [##] 100% 0/0");
  EXPECT_EQ(ProgressBar::render("w", 1500000, 3000000000ULL, "B", 5),
            "w [.....]   0% 1.5 MB/3.00 GB");
  EXPECT_EQ(ProgressBar::render("w", 999, 2500, "B", 2), "w [..]  39% 999 B/2.5 kB");
  EXPECT_EQ(ProgressBar::render("t", 5, 10, "tok", 2), "t [#.]  50% 5 tok/10 tok");
}

// Under ctest stderr is a file or pipe, never a terminal; make sure of it by pointing stderr
// at a file, then check that nothing at all is printed.
TEST(ProgressBar, SilentWhenStderrIsNotATerminal) {
  const auto path = test::scratch_dir() / "stderr.txt";
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  ASSERT_GE(saved, 0);
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  ::dup2(::fileno(f), STDERR_FILENO);
  bool visible = true;
  {
    ProgressBar bar("loading", 100, "B");
    visible = bar.visible();
    for (std::uint64_t i = 0; i <= 100; i += 10) bar.update(i);
    bar.finish();
  }
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::fclose(f);
  EXPECT_FALSE(visible);
  EXPECT_TRUE(test::read_bytes(path).empty());
}

}  // namespace
}  // namespace whale

TEST(TerminalText, ControlBytesBecomeCaretNotationAndTextStays) {
  EXPECT_EQ(whale::terminal_safe("a\x1b[2Jb"), "a^[[2Jb");  // "clear screen" shown, not run
  EXPECT_EQ(whale::terminal_safe("x\ry\bz\x7f"), "x^My^Hz^?");
  EXPECT_EQ(whale::terminal_safe(std::string_view("\0", 1)), "^@");
  EXPECT_EQ(whale::terminal_safe("line\n\ttab"), "line\n\ttab");
  EXPECT_EQ(whale::terminal_safe("387 + 456 = 843 — \xe2\x9c\x93"), "387 + 456 = 843 — \xe2\x9c\x93");
}
