// terminal_text.h — makes model output safe to write to a terminal. A model (or a random-weight
// one) can emit any byte, and C0 control bytes such as ESC start escape sequences that move the
// cursor, recolour or rewrite the screen, or worse; they are shown as visible escapes instead.
#pragma once

#include <string>
#include <string_view>

namespace whale {

// Replaces control bytes other than newline and tab (0x00-0x1F and 0x7F) with "^X" caret
// notation ("\x1b" -> "^[", "\r" -> "^M", "\x7f" -> "^?"); every other byte is kept, so valid
// UTF-8 stays valid.
std::string terminal_safe(std::string_view text);

}  // namespace whale
