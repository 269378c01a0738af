// utf8_stream.cpp — incremental UTF-8 assembly.
#include "runtime/utf8_stream.h"

namespace whale {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length a sequence starting with `lead` must have; 0 for a byte that cannot lead.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether `next` may follow `lead` as the first continuation byte (rules out overlongs,
// surrogates and code points past U+10FFFF).
bool valid_second(unsigned char lead, unsigned char next) {
  if ((next & 0xC0) != 0x80) return false;
  if (lead == 0xE0) return next >= 0xA0;
  if (lead == 0xED) return next <= 0x9F;
  if (lead == 0xF0) return next >= 0x90;
  if (lead == 0xF4) return next <= 0x8F;
  return true;
}

}  // namespace

std::string Utf8Stream::push(std::string_view bytes) {
  pending_ += bytes;
  std::string out;
  std::size_t i = 0;
  while (i < pending_.size()) {
    const auto lead = static_cast<unsigned char>(pending_[i]);
    const std::size_t len = sequence_length(lead);
    if (len == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    std::size_t have = 1;
    bool bad = false;
    while (have < len && i + have < pending_.size()) {
      const auto c = static_cast<unsigned char>(pending_[i + have]);
      if (have == 1 ? !valid_second(lead, c) : (c & 0xC0) != 0x80) {
        bad = true;
        break;
      }
      ++have;
    }
    if (bad) {
      out += kReplacement;  // the broken prefix; the offending byte is examined afresh
      i += have;
      continue;
    }
    if (have < len) break;  // incomplete: wait for more bytes
    out.append(pending_, i, len);
    i += len;
  }
  pending_.erase(0, i);
  return out;
}

std::string Utf8Stream::flush() {
  std::string out = push("");
  if (!pending_.empty()) out += kReplacement;
  pending_.clear();
  return out;
}

}  // namespace whale
