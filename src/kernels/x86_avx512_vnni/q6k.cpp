// q6k.cpp (AVX512-VNNI) — ../x86_avx2/q6k.cpp compiled with AVX512-VNNI + AVX512VL into
// namespace whale::avx2_vnni: its dot products with vpdpbusd / vpdpwssd chains, and its matmul
// as the 512-bit, two-rows-per-register kernel of q6k_512.h.
#define WHALE_AVX2_NS avx2_vnni
#define WHALE_VNNI 1
#include "kernels/x86_avx2/q6k.cpp"
