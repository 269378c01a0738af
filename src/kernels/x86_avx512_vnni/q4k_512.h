// q4k_512.h — the Q4_K / Q5_K matmul on 512-bit registers, two weight rows at a time, for the
// VNNI build only (included by ../x86_avx2/q4k.cpp when WHALE_VNNI is defined; internal
// linkage, like avx2_util.h).
//
// Why: on Xeons with two 512-bit multiply ports (here vpmaddubsw + vpdpwssd chains ran 479
// GOP/s per core on zmm against 239 on ymm) a zmm instruction does twice the int8 work, but
// with one row per register the per-block float step (fold 16 lanes to the contract's 8,
// convert, scale, add, and the same for the mins) cost as much as the products. Two rows share
// each register instead: its low half holds row A's 32 weights of a sub-block, its high half
// row B's, against the same 32 activations broadcast to both halves, so the int32 lanes are
// exactly the contract's 8 lanes of A then of B (kernels/q8_matmul.h), no fold, and one
// convert + FMA serves two rows.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// vpermw indices: sub-block j's scale word of row A (word j of the table) in the 16 words of the
// low half, row B's (word 8 + j) in the high half.
inline __m512i sub_block_scale_index(int j) {
  return _mm512_inserti64x4(_mm512_set1_epi16(static_cast<short>(j)),
                            _mm256_set1_epi16(static_cast<short>(8 + j)), 1);
}

// Rows r and r + 1 (rb = r when r is the last row: its second copy is computed and dropped)
// × TT tokens from t0. Per block: the 8 scales and 8 mins of both rows unpacked to words, then
// per 64-element chunk c one register of both rows' nibble bytes [A | B], split into the low
// nibbles (sub-block 2c) and the high ones (2c + 1).
template <int TT, bool kQ5>
void matmul_tile_512(const Q8MatmulArgs& a, std::int64_t ra, std::int64_t rb, std::int64_t t0) {
  constexpr int kBlockBytes = kQ5 ? 176 : 144;
  constexpr int kQsOffset = kQ5 ? 48 : 16;
  const std::int64_t nb = a.cols / 256;
  const PairTileInputs<TT> in(a, ra, rb, t0);
  const std::int16_t* xs32[TT];
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) xs32[t] = a.x_sums32 + (t0 + t) * (a.cols / 32);
  PairSums<TT> sums;
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  for (std::int64_t b = 0; b < nb; ++b) {
    const std::uint8_t* wa = in.row_a + b * kBlockBytes;
    const std::uint8_t* wb = in.row_b + b * kBlockBytes;
    prefetch_ahead<kBlockBytes>(wa);
    prefetch_ahead<kBlockBytes>(wb);
    const __m128i sm_a = unpack_scales_simd(wa + 4);  // 8 scale bytes, 8 min bytes
    const __m128i sm_b = unpack_scales_simd(wb + 4);
    const __m512i scale_words =
        _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_unpacklo_epi64(sm_a, sm_b)));
    const __m256i min_words = _mm256_cvtepu8_epi16(_mm_unpackhi_epi64(sm_a, sm_b));
    // [dA, dminA, dB, dminB] with the mins' coefficients negated (they subtract).
    const __m128 d_dmin = _mm_xor_ps(
        _mm_cvtph_ps(_mm_unpacklo_epi32(_mm_cvtsi32_si128(static_cast<int>(load_u32(wa))),
                                        _mm_cvtsi32_si128(static_cast<int>(load_u32(wb))))),
        _mm_setr_ps(0.0f, -0.0f, 0.0f, -0.0f));
    const __m512 d_ab = _mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2), _mm512_castps128_ps512(d_dmin));
    const __m256 dmin_ab = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d_dmin),
                                                    _mm256_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3));
    __m512i qh = _mm512_setzero_si512();
    if constexpr (kQ5) qh = load_pair(wa, wb, 16);
    __m512i lanes[TT];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m512i q = load_pair(wa, wb, kQsOffset + 32 * c);
      __m512i lo = _mm512_and_si512(q, low_mask);
      __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), low_mask);
      if constexpr (kQ5) {
        // Element l of sub-block 2c takes bit 2c of qh[l], of 2c + 1 bit 2c + 1.
        const __m512i sixteen = _mm512_set1_epi8(0x10);
        lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh, _mm512_set1_epi8(static_cast<char>(1 << (2 * c)))),
                                  lo, sixteen);
        hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(qh, _mm512_set1_epi8(static_cast<char>(2 << (2 * c)))),
                                  hi, sixteen);
      }
      const __m512i s_lo = _mm512_permutexvar_epi16(sub_block_scale_index(2 * c), scale_words);
      const __m512i s_hi = _mm512_permutexvar_epi16(sub_block_scale_index(2 * c + 1), scale_words);
#pragma GCC unroll 8
      for (int t = 0; t < TT; ++t) {
        const std::int8_t* x = in.xq[t] + 256 * b + 64 * c;
        const __m512i p_lo = _mm512_maddubs_epi16(lo, _mm512_broadcast_i64x4(load256(reinterpret_cast<const std::uint8_t*>(x))));
        const __m512i p_hi = _mm512_maddubs_epi16(hi, _mm512_broadcast_i64x4(load256(reinterpret_cast<const std::uint8_t*>(x + 32))));
        lanes[t] = c == 0 ? _mm512_madd_epi16(p_lo, s_lo) : _mm512_dpwssd_epi32(lanes[t], p_lo, s_lo);
        lanes[t] = _mm512_dpwssd_epi32(lanes[t], p_hi, s_hi);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const float dx = in.xd[t][b];
      sums.acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(d_ab, _mm512_set1_ps(dx)), _mm512_cvtepi32_ps(lanes[t]), sums.acc[t]);
      // Lane p of each row: m_{2p}·pair_{2p} + m_{2p+1}·pair_{2p+1}, the contract's min lane p.
      const __m256i pairs = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xs32[t] + 8 * b)));
      sums.mins[t] = _mm256_fmadd_ps(_mm256_mul_ps(dmin_ab, _mm256_set1_ps(dx)),
                                _mm256_cvtepi32_ps(_mm256_madd_epi16(min_words, pairs)), sums.mins[t]);
    }
  }
  sums.store(a, t0, ra, rb);
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
