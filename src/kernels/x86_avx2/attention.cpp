// attention.cpp (AVX2 + FMA) — attend()'s kernel on 8-float vectors (attention_tile.h).
#include <immintrin.h>

#include "kernels/attention_tile.h"

namespace whale {
namespace {

struct Avx2Vec {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V fmadd(V v, float s, V acc) { return _mm256_fmadd_ps(v, _mm256_set1_ps(s), acc); }
  static float fmadd1(float v, float s, float acc) { return __builtin_fmaf(v, s, acc); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static float reduce_max(V v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  static float reduce_add(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  static V sub(V v, float s) { return _mm256_sub_ps(v, _mm256_set1_ps(s)); }
  static V mul(V v, float s) { return _mm256_mul_ps(v, _mm256_set1_ps(s)); }
  // As the AVX-512 kernel's exp (x86_avx512_vnni/attention.cpp), with 2^n built in the exponent
  // bits (n >= -126 after the clamp, so the exponent field stays normal).
  static V exp(V x) {
    x = _mm256_max_ps(_mm256_set1_ps(-87.3f), x);
    const V n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    V r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    V p = _mm256_set1_ps(1.9875691500e-4f);
    for (const float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
      p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
  }
};

}  // namespace

void attend_avx2(const AttentionKv& kv, const AttentionQueries& q, float* work) { attend_all<Avx2Vec>(kv, q, work); }

}  // namespace whale
