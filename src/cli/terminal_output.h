// terminal_output.h — how `whale run` and `whale chat` write a streamed reply: thinking dimmed
// on a terminal, and, on a terminal, control bytes from the model shown as ^X escapes so model
// output can never drive the terminal. Redirected output gets the model's bytes unchanged.
#pragma once

#include <string_view>

namespace whale::cli {

class ReplyPrinter {
 public:
  ReplyPrinter(bool tty, bool show_thinking, bool show_answer)
      : tty_(tty), show_thinking_(show_thinking), show_answer_(show_answer) {}
  ~ReplyPrinter() { end(); }
  ReplyPrinter(const ReplyPrinter&) = delete;
  ReplyPrinter& operator=(const ReplyPrinter&) = delete;

  void thinking(std::string_view text);
  void answer(std::string_view text);
  // Restores normal text attributes (call before printing anything else).
  void end();

 private:
  void write(std::string_view text) const;
  bool tty_, show_thinking_, show_answer_;
  bool dim_ = false;
};

}  // namespace whale::cli
