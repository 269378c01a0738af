// legacy_matmul.cpp (AVX512-VNNI) — ../x86_avx2/legacy_matmul.cpp compiled with AVX512-VNNI + AVX512VL into
// namespace whale::avx2_vnni: the same 256-bit kernels with vpdpbusd / vpdpwssd int8 chains.
#define WHALE_AVX2_NS avx2_vnni
#define WHALE_VNNI 1
#include "kernels/x86_avx2/legacy_matmul.cpp"
