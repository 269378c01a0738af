// float_convert.cpp — the out-of-line f32 -> e4m3 encoder.
#include "util/float_convert.h"

#include <cmath>

namespace whale {

std::uint8_t f32_to_e4m3(float f) {
  const std::uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  if (std::isnan(f)) return static_cast<std::uint8_t>(sign | 0x7f);
  const float a = std::fabs(f);
  if (a >= 448.0f) return static_cast<std::uint8_t>(sign | 0x7e);
  // Search the 127 non-negative finite codes for the nearest, ties to the even code. Codes are
  // monotonic in value, so a binary search over them would do; 127 compares is cheap enough
  // for a converter that only tools and tests use.
  std::uint8_t best = 0;
  float best_err = INFINITY;
  for (std::uint8_t c = 0; c <= 0x7e; ++c) {
    const float err = std::fabs(e4m3_to_f32(c) - a);
    if (err < best_err || (err == best_err && (c & 1u) == 0)) {
      best = c;
      best_err = err;
    }
  }
  return static_cast<std::uint8_t>(sign | best);
}

}  // namespace whale
