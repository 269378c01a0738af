// silu_mul_span.h — SwiGLU's element-wise step, g ← silu(g)·u, written once in scalar code the
// compiler vectorizes, compiled by ops.cpp at the baseline ISA and by x86_avx2/silu_mul.cpp and
// x86_avx512_vnni/silu_mul.cpp with wider vectors. Internal linkage: each translation unit
// compiles its own copy with its own flags (and -fno-trapping-math: GCC if-converts the selects,
// and so vectorizes the loop, only when comparisons may not trap).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "kernels/exp_nonpositive.h"

namespace whale {
namespace {

// exp_nonpositive's traits on one float, in operations the compiler vectorizes (no calls, no
// branches): rounding by adding and removing 1.5·2^23, 2^n built in the exponent bits (n is
// in [−126, 0] after the clamp, so it stays normal). Without FMA contraction fma and fnma
// round twice, which the polynomial's 2-ulp bound allows.
struct ScalarF32 {
  using V = float;
  static V set1(float s) { return s; }
  static V zero() { return 0.0f; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V mul(V v, float s) { return v * s; }
  static V round(V v) { return (v + 12582912.0f) - 12582912.0f; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V fnma(V a, V b, V c) { return c - a * b; }
  // n's integer read back through the same 1.5·2^23 shift (well defined for a NaN n too,
  // unlike a float-to-int conversion), in unsigned arithmetic.
  static V scale2n(V v, V n) {
    const std::uint32_t n_bits = std::bit_cast<std::uint32_t>(n + 12582912.0f) - 0x4B400000u;
    return v * std::bit_cast<float>((n_bits + 127u) << 23);
  }
};

// silu(g)·u = g·σ(g)·u with σ(g) = 1 / (1 + e^−g) for g >= 0 and e^g / (1 + e^g) below, both
// from e^−|g| <= 1.
inline void silu_mul_span(float* g, const float* u, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float e = exp_nonpositive<ScalarF32>(-std::fabs(g[i]));
    const float sigmoid = (g[i] >= 0.0f ? 1.0f : e) / (1.0f + e);
    g[i] = g[i] * sigmoid * u[i];
  }
}

}  // namespace
}  // namespace whale
