// kquant_small_512.h — the matmul of Q2_K, Q3_K, IQ4_XS and the codebook types on 512-bit
// registers, two weight rows per register, for the VNNI build's prefill only (included by
// ../x86_avx2/kquant_small_matmul.cpp when WHALE_VNNI is defined). Each row's 32-element chunk
// is unpacked by its AVX2 type (T::begin, T::chunk) and the two rows' chunks fill the halves of
// one register, against the chunk's 32 activations broadcast to both halves: the int32 lanes
// are the contract's 8 lanes of row A then of row B (kernels/q8_matmul.h), as in q4k_512.h.
// Levels up to ±64 (all but IQ4_XS) multiply x biased from the packed chunk (x + 128,
// unsigned; row_pair.h), each lane ending by subtracting 128 · Σ sc·q over its elements,
// computed once per row pair and block for all tokens (exact: the pair sums stay within
// 255 · 64 · 2 < 2^15). IQ4_XS's levels reach ±127, so its x takes the sign of the level by
// a masked negation (AVX-512 has no vpsignb), one instruction per token and chunk.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Whether T's levels fit the biased-x products.
template <class T>
constexpr bool kBiasedX = T::kMaxLevel <= 64;

// Rows ra and rb (rb = ra for a last odd row: computed twice, its copy dropped) × the TT tokens
// of the packed tile at t0 (biased when kBiasedX<T>). State: the AVX2 kernels' per-block state
// (d, dmin, the 16 scales, the mins) that T::begin fills. As in q4k_512.h's packed tile, the
// block's 8 chunks of levels and their scale words are unpacked once into 16 registers for
// all TT tokens, whose accumulators live in L1, and tokens go 8 at a time chunk by chunk.
template <class T, class State, int TT>
void kquant_small_tile_512(const Q8MatmulArgs& a, const PackedChunk& x_packed, std::int64_t ra, std::int64_t rb,
                           std::int64_t t0) {
  constexpr bool kBiased = kBiasedX<T>;
  constexpr bool kNegate = T::kSigned && !kBiased;  // x takes the level's sign (IQ4_XS)
  constexpr int kGroup = TT % 8 == 0 ? 8 : TT % 4 == 0 ? 4 : 1;  // tokens whose chains interleave
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* row_a = bytes(a.w) + static_cast<std::size_t>(ra) * a.w_row_bytes;
  const std::uint8_t* row_b = bytes(a.w) + static_cast<std::size_t>(rb) * a.w_row_bytes;
  const std::uint8_t* xq = x_packed.quants(t0);  // [8 nb][TT][32]
  const float* xd = x_packed.scales(t0);         // [nb][TT]
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  alignas(64) float acc[TT][16];
  alignas(32) float mins[TT][8];  // [A's 4 | B's 4]: Q2_K only
  for (int j = 0; j < TT; ++j) {
    _mm512_store_ps(acc[j], _mm512_setzero_ps());
    _mm256_store_ps(mins[j], _mm256_setzero_ps());
  }
  // Pairs (2k, 2k + 1) of the min products' 16 lanes: row A's in lanes 0-3, row B's in 4-7.
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
  State sa, sb;
  for (std::int64_t b = 0; b < nb; ++b, xq += 8 * 32 * TT, xd += TT) {
    const std::uint8_t* wa = row_a + b * T::kBytes;
    const std::uint8_t* wb = row_b + b * T::kBytes;
    prefetch_ahead<T::kBytes>(wa);
    prefetch_ahead<T::kBytes>(wb);
    T::begin(wa, sa);
    T::begin(wb, sb);
    __m512i q[8], scales[8];
    __mmask64 negative[8];
    __m512i bias_lanes = _mm512_setzero_si512();  // 128 · Σ sc·q per lane (kBiased)
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      q[c] = _mm512_inserti64x4(_mm512_castsi256_si512(T::chunk(wa, c)), T::chunk(wb, c), 1);
      negative[c] = kNegate ? _mm512_movepi8_mask(q[c]) : 0;
      if constexpr (kNegate) q[c] = _mm512_abs_epi8(q[c]);
      // Words 0-7 of each half: the half's row's scale of elements 0-15 of the chunk; 8-15: of 16-31.
      scales[c] = _mm512_inserti64x4(
          _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16(sa.sc[2 * c + 1]), _mm_set1_epi16(sa.sc[2 * c]))),
          _mm256_set_m128i(_mm_set1_epi16(sb.sc[2 * c + 1]), _mm_set1_epi16(sb.sc[2 * c])), 1);
      if constexpr (kBiased) bias_lanes = _mm512_dpwssd_epi32(bias_lanes, _mm512_maddubs_epi16(bias, q[c]), scales[c]);
    }
    const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(), bias_lanes);
    const __m512 d_ab = _mm512_castpd_ps(_mm512_insertf64x4(
        _mm512_castps_pd(_mm512_set1_ps(sa.d)), _mm256_castps_pd(_mm256_set1_ps(sb.d)), 1));
    const __m256 dmin_ab = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(sa.dmin)), _mm_set1_ps(sb.dmin), 1);
    const __m512i m16_ab = _mm512_inserti64x4(_mm512_castsi256_si512(sa.m16), sb.m16, 1);
#pragma GCC unroll 1
    for (int g = 0; g < TT; g += kGroup) {
      __m512i lanes[kGroup];
#pragma GCC unroll 8
      for (int k = 0; k < kGroup; ++k) lanes[k] = start;
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c)
#pragma GCC unroll 8
        for (int k = 0; k < kGroup; ++k) {
          const __m512i x = _mm512_broadcast_i64x4(load256(xq + 32 * (c * TT + g + k)));
          __m512i p;
          if constexpr (kNegate)
            p = _mm512_maddubs_epi16(q[c], _mm512_mask_sub_epi8(x, negative[c], _mm512_setzero_si512(), x));
          else if constexpr (kBiased)
            p = _mm512_maddubs_epi16(x, q[c]);
          else
            p = _mm512_maddubs_epi16(q[c], x);
          lanes[k] = _mm512_dpwssd_epi32(lanes[k], p, scales[c]);
        }
#pragma GCC unroll 8
      for (int k = 0; k < kGroup; ++k) {
        const int j = g + k;
        const float dx = xd[j];
        _mm512_store_ps(acc[j], _mm512_fmadd_ps(_mm512_mul_ps(d_ab, _mm512_set1_ps(dx)), _mm512_cvtepi32_ps(lanes[k]),
                                                _mm512_load_ps(acc[j])));
        if constexpr (T::kHasMin) {
          // Min lane k: the 16-element groups 4k..4k+3, i.e. madd lanes 2k and 2k+1 of each row.
          const __m512i xs = _mm512_broadcast_i64x4(
              load256(reinterpret_cast<const std::uint8_t*>(a.x_sums16 + (t0 + j) * (a.cols / 16) + 16 * b)));
          const __m512i prod = _mm512_madd_epi16(m16_ab, xs);
          const __m256i m4 = _mm256_add_epi32(_mm512_castsi512_si256(_mm512_permutexvar_epi32(even, prod)),
                                              _mm512_castsi512_si256(_mm512_permutexvar_epi32(odd, prod)));
          _mm256_store_ps(mins[j], _mm256_fmadd_ps(_mm256_mul_ps(dmin_ab, _mm256_set1_ps(dx)), _mm256_cvtepi32_ps(m4),
                                                   _mm256_load_ps(mins[j])));
        }
      }
    }
  }
  for (int j = 0; j < TT; ++j)
    store_pair_token(a, t0 + j, ra, rb, acc[j], _mm_load_ps(mins[j]), _mm_load_ps(mins[j] + 4));
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
