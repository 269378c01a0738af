// vec256_f32.h — the 8-float vector operations attention_tile.h's query_lane_scores needs, for
// the AVX2 kernel's vector type and the AVX-512 kernel's narrow one (8 or fewer heads). Internal
// linkage, like attention_tile.h: each including translation unit compiles its own copy with
// its own target flags.
#pragma once

#include <immintrin.h>

namespace whale {
namespace {

struct Vec256F32 {
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V fmadd(V v, float s, V acc) { return _mm256_fmadd_ps(v, _mm256_set1_ps(s), acc); }
};

}  // namespace
}  // namespace whale
