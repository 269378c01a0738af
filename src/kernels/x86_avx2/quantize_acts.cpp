// quantize_acts.cpp — AVX2 activation quantizer giving exactly the reference quantizer's values
// (quant_ref::quantize_q8_0 / quantize_q8_k): the same max search, the same f32 scale
// arithmetic and the same rounding, vectorised.
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"

namespace whale::avx2 {
namespace {

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float hmax_ps(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// Four rounded vectors of 8 int32 (each in [-128, 127]) into 32 int8 in element order.
inline __m256i pack_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
  // packs works inside 128-bit lanes; the permute restores element order.
  const __m256i ab = _mm256_packs_epi32(a, b);
  const __m256i cd = _mm256_packs_epi32(c, d);
  const __m256i abcd = _mm256_packs_epi16(ab, cd);
  return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// lround (ties away from zero) of integral-range values: round to nearest even, then move the
// ties that went toward zero one step outward. t - r is exact here (|t| < 2^23).
inline __m256i lround_ps(__m256 t) {
  const __m256 r = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 diff = _mm256_sub_ps(t, r);
  const __m256 half = _mm256_set1_ps(0.5f);
  const __m256 up = _mm256_and_ps(_mm256_cmp_ps(diff, half, _CMP_EQ_OQ), _mm256_set1_ps(1.0f));
  const __m256 down =
      _mm256_and_ps(_mm256_cmp_ps(diff, _mm256_set1_ps(-0.5f), _CMP_EQ_OQ), _mm256_set1_ps(1.0f));
  // diff == +0.5 only happens for t > 0 rounded down (away = up); diff == -0.5 for t < 0
  // rounded up (away = down). Ties of the other direction already went away from zero.
  const __m256 pos = _mm256_cmp_ps(t, _mm256_setzero_ps(), _CMP_GT_OQ);
  const __m256 neg = _mm256_cmp_ps(t, _mm256_setzero_ps(), _CMP_LT_OQ);
  __m256 fixed = _mm256_add_ps(r, _mm256_and_ps(up, pos));
  fixed = _mm256_sub_ps(fixed, _mm256_and_ps(down, neg));
  return _mm256_cvttps_epi32(fixed);
}

// Sums of 16 consecutive int8 quants: two per 32-quant vector.
inline void sums16_of(__m256i q, std::int16_t* out) {
  const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q),
                                      _mm256_set1_epi16(1));
  const __m256i h = _mm256_hadd_epi32(s, s);
  const __m256i h2 = _mm256_hadd_epi32(h, h);
  out[0] = static_cast<std::int16_t>(_mm256_extract_epi32(h2, 0));
  out[1] = static_cast<std::int16_t>(_mm256_extract_epi32(h2, 4));
}

void quantize_q8_0_row(const float* x, std::int64_t cols, std::int8_t* qs, float* d,
                       std::int16_t* sums16) {
  for (std::int64_t b = 0; b < cols / 32; ++b) {
    const float* xb = x + 32 * b;
    const __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
    const __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
    const float amax = hmax_ps(_mm256_max_ps(_mm256_max_ps(abs_ps(v0), abs_ps(v1)),
                                             _mm256_max_ps(abs_ps(v2), abs_ps(v3))));
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    // The stored scale is f16 (RNE, as f32_to_f16); the quants use the unrounded one.
    d[b] = _cvtsh_ss(_cvtss_sh(scale, _MM_FROUND_TO_NEAREST_INT));
    const __m256 vi = _mm256_set1_ps(inv);
    const __m256i q = pack_i8(lround_ps(_mm256_mul_ps(v0, vi)), lround_ps(_mm256_mul_ps(v1, vi)),
                              lround_ps(_mm256_mul_ps(v2, vi)), lround_ps(_mm256_mul_ps(v3, vi)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + 32 * b), q);
    sums16_of(q, sums16 + 2 * b);
  }
}

void quantize_q8_k_row(const float* x, std::int64_t cols, std::int8_t* qs, float* d,
                       std::int16_t* sums16) {
  for (std::int64_t b = 0; b < cols / 256; ++b) {
    const float* xb = x + 256 * b;
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < 256; i += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(xb + i)));
    const float amax = hmax_ps(m);
    if (amax == 0.0f) {
      d[b] = 0.0f;
      for (int i = 0; i < 256; i += 32)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + 256 * b + i), _mm256_setzero_si256());
      for (int j = 0; j < 16; ++j) sums16[16 * b + j] = 0;
      continue;
    }
    // The signed value of the first element of largest magnitude (as signed_absmax).
    float max = 0.0f;
    for (int i = 0; i < 256; ++i) {
      const float a = xb[i] < 0.0f ? -xb[i] : xb[i];
      if (a == amax) {
        max = xb[i];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 vi = _mm256_set1_ps(iscale);
    for (int i = 0; i < 256; i += 32) {
      // cvtps rounds with MXCSR's mode, round-to-nearest-even by default: nearbyint.
      const __m256i q = pack_i8(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i), vi)),
                                _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 8), vi)),
                                _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 16), vi)),
                                _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + i + 24), vi)));
      // The reference clamps at 127 (a product can round to 127.5 -> 128); packs saturates.
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + 256 * b + i), q);
      sums16_of(q, sums16 + 16 * b + i / 16);
    }
    d[b] = 1.0f / iscale;
  }
}

}  // namespace

void quantize_act_row(bool q8_k, const float* x, std::int64_t cols, std::int8_t* qs, float* d,
                      std::int16_t* sums16) {
  if (q8_k)
    quantize_q8_k_row(x, cols, qs, d, sums16);
  else
    quantize_q8_0_row(x, cols, qs, d, sums16);
}

}  // namespace whale::avx2
