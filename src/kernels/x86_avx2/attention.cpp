// attention.cpp (AVX2 + FMA) — attend()'s kernel on 8-float vectors (attention_tile.h).
#include <immintrin.h>

#include "kernels/attention_tile.h"
#include "kernels/x86_avx2/vec256_f32.h"

namespace whale {
namespace {

struct Avx2Vec : Vec256F32 {
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
  static V set1(float s) { return _mm256_set1_ps(s); }
  static V round(V v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  // n in [−126, 0] after exp_nonpositive's clamp: 2^n built in the exponent bits stays normal.
  static V scale2n(V v, V n) {
    return _mm256_mul_ps(v, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23)));
  }
  static V exp(V x) { return exp_nonpositive<Avx2Vec>(x); }
};

}  // namespace

void attend_avx2(const AttentionKv& kv, const AttentionQueries& q, float* work) { attend_all<Avx2Vec>(kv, q, work); }

}  // namespace whale
