// attention.cpp (AVX-512) — attend()'s kernel on 16-float vectors (attention_tile.h); built with
// the VNNI set's flags and run where that set runs.
#include <immintrin.h>

#include "kernels/attention_tile.h"

namespace whale {
namespace {

struct Avx512Vec {
  using V = __m512;
  static constexpr int kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V fmadd(V v, float s, V acc) { return _mm512_fmadd_ps(v, _mm512_set1_ps(s), acc); }
  static float fmadd1(float v, float s, float acc) { return __builtin_fmaf(v, s, acc); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static float reduce_max(V v) { return _mm512_reduce_max_ps(v); }
  static float reduce_add(V v) { return _mm512_reduce_add_ps(v); }
  static V sub(V v, float s) { return _mm512_sub_ps(v, _mm512_set1_ps(s)); }
  static V mul(V v, float s) { return _mm512_mul_ps(v, _mm512_set1_ps(s)); }
  // e^x = 2^n · e^r with n = round(x · log2 e) and r = x − n · ln 2 (ln 2 in two parts, the
  // first exact in f32), e^r by Cephes's degree-7 polynomial; x is clamped at −87.3 (e^x then
  // underflows to a normal 2^-126 scale, and max keeps a NaN in its second operand).
  static V exp(V x) {
    x = _mm512_max_ps(_mm512_set1_ps(-87.3f), x);
    const V n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    V p = _mm512_set1_ps(1.9875691500e-4f);
    for (const float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
      p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
  }
};

}  // namespace

void attend_avx512(const AttentionKv& kv, const AttentionQueries& q, float* work) {
  attend_all<Avx512Vec>(kv, q, work);
}

}  // namespace whale
