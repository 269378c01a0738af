// kquant_matmul.cpp (NEON dotprod) — ../arm_neon/kquant_matmul.cpp compiled with +dotprod into namespace
// whale::neon_dotprod: the same kernels with sdot (vdotq_s32) as their int8 step.
#define WHALE_NEON_NS neon_dotprod
#define WHALE_NEON_DOTPROD 1
#include "kernels/arm_neon/kquant_matmul.cpp"
