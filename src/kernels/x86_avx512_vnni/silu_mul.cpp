// silu_mul.cpp (AVX-512) — silu_mul_span.h compiled with this ISA's vectors.
#include <cstdint>

#include "kernels/silu_mul_span.h"

namespace whale {

void silu_mul_span_avx512(float* g, const float* u, std::int64_t n) { silu_mul_span(g, u, n); }

}  // namespace whale
