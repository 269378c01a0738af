#include "util/terminal_text.h"

namespace whale {

std::string terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    if ((b < 0x20 && ch != '\n' && ch != '\t') || b == 0x7f) {
      out += '^';
      out += static_cast<char>(b ^ 0x40);  // caret notation: 0x1b -> '[', 0x7f -> '?'
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace whale
