// roofline_vnni.cpp — roofline_avx2.cpp's loops compiled with AVX512-VNNI + AVX512VL into
// namespace whale::roofline_isa_vnni (the int8 chains as the VNNI kernels issue them).
#define WHALE_AVX2_NS avx2_vnni
#define WHALE_VNNI 1
#define WHALE_ROOFLINE_NS roofline_isa_vnni
#include "runtime/roofline_avx2.cpp"
