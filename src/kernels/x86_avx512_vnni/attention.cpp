// attention.cpp (AVX-512) — attend()'s kernel on 16-float vectors (attention_tile.h); built with
// the VNNI set's flags and run where that set runs.
#include <immintrin.h>

#include "kernels/attention_tile.h"
#include "kernels/x86_avx2/vec256_f32.h"

namespace whale {
namespace {

struct Avx512Vec {
  using V = __m512;
  // Eight lanes for a decode step's 8 or fewer heads (query_lane_scores): a 256-bit FMA issues
  // as often as a 512-bit one, so half-empty 16-lane vectors would take twice the instructions.
  using Narrow = Vec256F32;
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
  static V set1(float s) { return _mm512_set1_ps(s); }
  static V round(V v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V scale2n(V v, V n) { return _mm512_scalef_ps(v, n); }
  static V exp(V x) { return exp_nonpositive<Avx512Vec>(x); }
};

}  // namespace

void attend_avx512(const AttentionKv& kv, const AttentionQueries& q, float* work) {
  attend_all<Avx512Vec>(kv, q, work);
}

}  // namespace whale
