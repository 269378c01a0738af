// neon_kernels.h — entry points of the AArch64 NEON kernels (defined in this folder's
// translation units; the dot-product variants are the same sources compiled again with
// +dotprod in ../arm_neon_dotprod/). Declarations only: no inline code may be shared between
// translation units built for different ISAs.
#pragma once

#include <cstdint>

#include "kernels/q8_matmul_args.h"

namespace whale::neon {

// Activation rows for the integer kernels (kernels/q8_acts.h): Q8_K when q8_k, else Q8_0.
// The reference quantizer's bytes exactly. Baseline NEON: every AArch64 CPU has it.
void quantize_act_row(bool q8_k, const float* x, std::int64_t cols, std::int8_t* qs, float* d,
                      std::int16_t* sums16);

}  // namespace whale::neon

// Integer matmul kernels (kernels/q8_matmul.h) with a NEON version: X(DType enumerator,
// function suffix). Defined in namespace whale::neon (plain NEON: vmull + pairwise adds) and
// whale::neon_dotprod (sdot). Types not listed use the scalar reference.
#define WHALE_NEON_Q8_MATMUL_KERNELS(X)                                                     \
  X(kQ8_0, q8_0) X(kQ4_0, q4_0) X(kQ4_1, q4_1) X(kQ5_0, q5_0) X(kQ5_1, q5_1)               \
  X(kIQ4_NL, iq4_nl) X(kQ4_K, q4_k) X(kQ5_K, q5_k) X(kQ6_K, q6_k) X(kQ2_K, q2_k)           \
  X(kQ3_K, q3_k) X(kIQ4_XS, iq4_xs) X(kIQ2_XXS, iq2_xxs) X(kIQ1_S, iq1_s) X(kIQ1_M, iq1_m)

#define WHALE_DECLARE_NEON_Q8_MATMUL(type, suffix) void matmul_##suffix(const Q8MatmulArgs& a);
namespace whale::neon {
WHALE_NEON_Q8_MATMUL_KERNELS(WHALE_DECLARE_NEON_Q8_MATMUL)
}  // namespace whale::neon
namespace whale::neon_dotprod {
WHALE_NEON_Q8_MATMUL_KERNELS(WHALE_DECLARE_NEON_Q8_MATMUL)
}  // namespace whale::neon_dotprod
#undef WHALE_DECLARE_NEON_Q8_MATMUL
