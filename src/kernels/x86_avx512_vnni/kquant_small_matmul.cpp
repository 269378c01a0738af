// kquant_small_matmul.cpp (AVX512-VNNI) — ../x86_avx2/kquant_small_matmul.cpp compiled with AVX512-VNNI + AVX512VL into
// namespace whale::avx2_vnni: its decode kernels with vpdpwssd int8 chains, and their prefill
// as the 512-bit, two-rows-per-register kernel of kquant_small_512.h.
#define WHALE_AVX2_NS avx2_vnni
#define WHALE_VNNI 1
#include "kernels/x86_avx2/kquant_small_matmul.cpp"
