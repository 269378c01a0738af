#include "cli/terminal_output.h"

#include <fmt/core.h>

#include <cstdio>

#include "util/terminal_text.h"

namespace whale::cli {

void ReplyPrinter::thinking(std::string_view text) {
  if (!show_thinking_) return;
  if (tty_ && !dim_) {
    fmt::print("\033[2m");
    dim_ = true;
  }
  write(text);
}

void ReplyPrinter::answer(std::string_view text) {
  end();
  if (show_answer_) write(text);
}

void ReplyPrinter::end() {
  if (!dim_) return;
  fmt::print("\033[0m");
  dim_ = false;
}

void ReplyPrinter::write(std::string_view text) const {
  if (tty_) {
    fmt::print("{}", terminal_safe(text));
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  std::fflush(stdout);
}

}  // namespace whale::cli
