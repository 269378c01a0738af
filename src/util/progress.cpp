// progress.cpp — terminal progress bar.
#include "util/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

namespace whale {
namespace {

std::string human_amount(std::uint64_t v, const std::string& unit) {
  if (unit == "B") {
    const double d = static_cast<double>(v);
    if (d >= 1e9) return fmt::format("{:.2f} GB", d / 1e9);
    if (d >= 1e6) return fmt::format("{:.1f} MB", d / 1e6);
    if (d >= 1e3) return fmt::format("{:.1f} kB", d / 1e3);
    return fmt::format("{} B", v);
  }
  return unit.empty() ? fmt::format("{}", v) : fmt::format("{} {}", v, unit);
}

}  // namespace

ProgressBar::ProgressBar(std::string label, std::uint64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      visible_(isatty(STDERR_FILENO) != 0) {}

ProgressBar::~ProgressBar() { finish(); }

std::string ProgressBar::render(const std::string& label, std::uint64_t done,
                                std::uint64_t total, const std::string& unit, int width) {
  const double frac =
      total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(width - filled), '.');
  return fmt::format("{} [{}] {:3d}% {}/{}", label, bar, static_cast<int>(frac * 100.0),
                     human_amount(done, unit), human_amount(total, unit));
}

void ProgressBar::update(std::uint64_t done) {
  if (!visible_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  std::fprintf(stderr, "\r%s\033[K", render(label_, done, total_, unit_, 30).c_str());
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!visible_ || finished_) return;
  finished_ = true;
  std::fprintf(stderr, "\r%s\033[K\n", render(label_, total_, total_, unit_, 30).c_str());
  std::fflush(stderr);
}

}  // namespace whale
