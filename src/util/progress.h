// progress.h — a progress bar for long work: drawn on a terminal, silent when piped.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace whale {

// Draws "label [#####.....] 42% 1.2/2.9 GB" on stderr at most ~10 times a second. When stderr
// is not a terminal (or `enabled` is false) it prints nothing at all, so logs stay clean.
class ProgressBar {
 public:
  ProgressBar(std::string label, std::uint64_t total, std::string unit = "");
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(std::uint64_t done);
  void finish();
  bool visible() const { return visible_; }

  // Renders the bar line for `done` of `total` (no terminal control characters); public so the
  // formatting can be tested without a terminal.
  static std::string render(const std::string& label, std::uint64_t done, std::uint64_t total,
                            const std::string& unit, int width);

 private:
  std::string label_;
  std::uint64_t total_;
  std::string unit_;
  bool visible_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace whale
