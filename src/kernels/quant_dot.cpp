// quant_dot.cpp — picks the quantized dot-product kernels for this CPU once.
#include "kernels/quant_dot.h"

#include "kernels/cpu_features.h"

#if WHALE_HAVE_X86_AVX2
#include "kernels/x86_avx2/avx2_quant_dot.h"
#endif

namespace whale {
namespace {

#if WHALE_HAVE_X86_AVX2
constexpr QuantDotKernels kAvx2Kernels{
    "avx2+fma+f16c",      avx2::dot_q8_0_q8_0,  avx2::dot_q4_k_q8_k, avx2::dot_q6_k_q8_k,
    avx2::sums_q8_0_q8_0, avx2::sums_q4_k_q8_k, avx2::sums_q6_k_q8_k};

#endif

}  // namespace

// The only #if of this file: whether the build has the AVX2 translation units at all.
const QuantDotKernels* quant_dot_avx2() {
#if WHALE_HAVE_X86_AVX2
  static const bool supported = cpu_has_avx2_fma_f16c();
  return supported ? &kAvx2Kernels : nullptr;
#else
  return nullptr;
#endif
}

const QuantDotKernels& quant_dot_kernels() {
  static const QuantDotKernels& best = quant_dot_avx2() ? *quant_dot_avx2() : quant_dot_ref();
  return best;
}

}  // namespace whale
