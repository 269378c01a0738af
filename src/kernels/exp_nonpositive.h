// exp_nonpositive.h — e^x for x <= 0 as a polynomial, written once for every vector width:
// the attention kernels' softmax (attention_tile.h, on their ISA's vector traits) and SwiGLU
// (ops.cpp, on scalar traits the compiler vectorizes). Internal linkage: each ISA's
// translation unit compiles its own copy with its own flags.
#pragma once

#include <initializer_list>

namespace whale {
namespace {

// e^x for x <= 0 within 2 ulp of std::exp: 2^n · e^r with n = round(x · log2 e) and r = x −
// n · ln 2 (ln 2 in two parts, the first exact in f32), e^r by Cephes's expf polynomial. x is
// clamped at −87.3 (so 2^n stays a normal number), by a max whose second operand keeps a NaN.
// Vec provides V, set1(s), zero(), max(a, b) (b's NaN kept), mul(v, float s), round(v) (to
// nearest), fma(a, b, c) = a·b + c, fnma(a, b, c) = c − a·b and scale2n(v, n) = v·2^n.
template <class Vec>
typename Vec::V exp_nonpositive(typename Vec::V x) {
  using V = typename Vec::V;
  x = Vec::max(Vec::set1(-87.3f), x);
  const V n = Vec::round(Vec::mul(x, 1.44269504088896341f));
  V r = Vec::fnma(n, Vec::set1(0.693359375f), x);
  r = Vec::fnma(n, Vec::set1(-2.12194440e-4f), r);
  V p = Vec::set1(1.9875691500e-4f);
  for (const float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = Vec::fma(p, r, Vec::set1(c));
  p = Vec::fma(p, Vec::fma(r, r, Vec::zero()), Vec::fma(r, Vec::set1(1.0f), Vec::set1(1.0f)));
  return Vec::scale2n(p, n);
}

}  // namespace
}  // namespace whale
