// kquant_small_512.h — the prefill of Q2_K, Q3_K, IQ4_XS and the codebook types on 512-bit
// registers, two weight rows per register, for the VNNI build only (included by
// ../x86_avx2/kquant_small_matmul.cpp when WHALE_VNNI is defined): chunk8_tile.h's tile, with
// each row's 32-element chunk unpacked by its AVX2 type (T::begin, T::chunk) and the two rows'
// chunks filling the halves of one register. Levels up to ±64 (all but IQ4_XS) take x biased;
// IQ4_XS's reach ±127, so x takes their sign instead (chunk8_tile.h says why).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/chunk8_tile.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Whether T's levels fit the biased-x products.
template <class T>
constexpr bool kBiasedX = T::kMaxLevel <= 64;

// chunk8_tile_512's unpacker for type T: each row's chunks by T's AVX2 code (T::begin,
// T::chunk), the two rows' inserted into one register. State: the AVX2 kernels' per-block
// state (d, dmin, the 16 scales, the mins) that T::begin fills.
template <class T, class State>
struct SmallKquantPairs {
  static_assert(kBiasedX<T> || T::kSigned, "unsigned levels beyond 64 need unbiased x without a sign");
  static constexpr bool kNegate = T::kSigned && !kBiasedX<T>;
  static constexpr bool kHasMin = T::kHasMin;
  static constexpr int kBytes = T::kBytes;
  State sa, sb;

  void block(const std::uint8_t* wa, const std::uint8_t* wb, Chunk8Pair& w) {
    T::begin(wa, sa);
    T::begin(wb, sb);
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      w.levels[c] = _mm512_inserti64x4(_mm512_castsi256_si512(T::chunk(wa, c)), T::chunk(wb, c), 1);
      w.negative[c] = kNegate ? _mm512_movepi8_mask(w.levels[c]) : 0;
      if constexpr (kNegate) w.levels[c] = _mm512_abs_epi8(w.levels[c]);
      w.scales[c] = _mm512_inserti64x4(
          _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(sa.sc[2 * c + 1]), _mm_set1_epi16(sa.sc[2 * c]))),
          _mm256_set_m128i(_mm_set1_epi16(sb.sc[2 * c + 1]), _mm_set1_epi16(sb.sc[2 * c])), 1);
    }
    w.d_ab = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(sa.d)),
                                                 _mm256_castps_pd(_mm256_set1_ps(sb.d)), 1));
  }

  // Q2_K: min lane k of each row is its 16-element groups 4k..4k+3, i.e. madd lanes 2k and
  // 2k + 1 of that row's half.
  void mins(const Q8MatmulArgs& a, std::int64_t t, std::int64_t b, float dx, float* mins8) const {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i m16_ab = _mm512_inserti64x4(_mm512_castsi256_si512(sa.m16), sb.m16, 1);
    const __m256 dmin_ab = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(sa.dmin)), _mm_set1_ps(sb.dmin), 1);
    const __m512i xs = _mm512_broadcast_i64x4(
        load256(reinterpret_cast<const std::uint8_t*>(a.x_sums16 + t * (a.cols / 16) + 16 * b)));
    const __m512i prod = _mm512_madd_epi16(m16_ab, xs);
    const __m256i m4 = _mm256_add_epi32(_mm512_castsi512_si256(_mm512_permutexvar_epi32(even, prod)),
                                        _mm512_castsi512_si256(_mm512_permutexvar_epi32(odd, prod)));
    _mm256_store_ps(mins8, _mm256_fmadd_ps(_mm256_mul_ps(dmin_ab, _mm256_set1_ps(dx)), _mm256_cvtepi32_ps(m4),
                                           _mm256_load_ps(mins8)));
  }
};

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
