// row_dot.cpp — the CPU-feature choice of row dot kernels.
#include "kernels/row_dot.h"

#include "kernels/cpu_features.h"

namespace whale {
namespace {

bool has_avx2() {
#if defined(WHALE_HAVE_X86_AVX2)
  return cpu_has_avx2_fma_f16c();
#else
  return false;
#endif
}

}  // namespace

RowDotFn row_dot_kernel(DType t) {
#if defined(WHALE_HAVE_X86_AVX2)
  static const bool avx2 = has_avx2();
  if (avx2) return avx2_row_dot(t);
#endif
  (void)t;
  return nullptr;
}

Dot2x3Fn dot2x3_f32_kernel() {
#if defined(WHALE_HAVE_X86_AVX2)
  static const bool avx2 = has_avx2();
  if (avx2) return &avx2_dot2x3_f32;
#endif
  return nullptr;
}

const char* row_dot_isa() { return has_avx2() ? "avx2+fma+f16c" : "scalar"; }

}  // namespace whale
