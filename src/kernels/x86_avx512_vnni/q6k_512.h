// q6k_512.h — the Q6_K matmul on 512-bit registers, two weight rows at a time, for the VNNI
// build only (included by ../x86_avx2/q6k.cpp when WHALE_VNNI is defined). The same scheme as
// q4k_512.h: a register holds 32 weights of row A in its low half and the same 32 of row B in
// its high half, against the 32 activations broadcast to both halves, so its int32 lanes are
// the contract's 8 lanes of A then of B. AVX-512 has no vpsignb to move the signed levels'
// (q − 32) sign onto x, so at prefill (chunk8_tile.h's tile) x comes biased from the packed
// chunk (x + 128, unsigned; row_pair.h) against the signed levels, and each lane starts from
// −128 · Σ sc·(q − 32) over its elements, computed once per row pair and block for all tokens
// (exact in int32: |lane| ≤ 32 · 255 · 32 · 128 < 2^31, pair sums ≤ 16320); decode keeps the
// codes unsigned instead (q6k_decode_tile_512).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/chunk8_tile.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// The stored 6-bit codes q (0..63, level q − 32) of chunks 4·half .. 4·half + 3 of both rows'
// blocks, as [A | B] bytes in element order. Chunk k's code is a nibble of ql (low nibbles of
// the first 32 bytes for k = 0, of the next 32 for k = 1, their high nibbles for 2 and 3) under
// the 2-bit field k of qh (bits 2k, 2k + 1) as bits 4-5. Each code is one bit-select (vpternlogd)
// of a nibble source and a qh source whose bits 4-5 hold the field and bits 6-7 are clear:
// masking qh once by 0x33 (fields 0 and 2) and once by 0xCC (1 and 3) leaves zeros wherever a
// 16-bit shift would carry a neighbour's bits into those places. 11 operations for four chunks,
// where masking and shifting each field into place took 21.
inline void q6k_codes_pair(const std::uint8_t* wa, const std::uint8_t* wb, int half, __m512i (&q)[4]) {
  const __m512i low_nibble = _mm512_set1_epi8(0x0F);
  const __m512i ql0 = load_pair(wa, wb, 64 * half);
  const __m512i ql1 = load_pair(wa, wb, 64 * half + 32);
  const __m512i qh = load_pair(wa, wb, 128 + 32 * half);
  const __m512i fields02 = _mm512_and_si512(qh, _mm512_set1_epi8(0x33));
  const __m512i fields13 = _mm512_and_si512(qh, _mm512_set1_epi8(static_cast<char>(0xCC)));
  // vpternlogd 0xE4: the first operand's bits where the third is set, the second's elsewhere.
  const auto select_low = [&](__m512i nibble_source, __m512i high_source) {
    return _mm512_ternarylogic_epi32(nibble_source, high_source, low_nibble, 0xE4);
  };
  q[0] = select_low(ql0, _mm512_slli_epi16(fields02, 4));
  q[1] = select_low(ql1, _mm512_slli_epi16(fields13, 2));
  q[2] = select_low(_mm512_srli_epi16(ql0, 4), fields02);
  q[3] = select_low(_mm512_srli_epi16(ql1, 4), _mm512_srli_epi16(fields13, 2));
}

// Both rows' 16 scales (int8) as words: row A's in words 0-15, row B's in 16-31.
inline __m512i q6k_scale_words_pair(const std::uint8_t* wa, const std::uint8_t* wb) {
  return _mm512_cvtepi8_epi16(_mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wa + 192))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + 192)), 1));
}

// Both rows' block, unpacked into chunk8_tile.h's form: the signed levels (q − 32) of each
// 32-element chunk as [A | B] bytes, the scale words (words 0-7 of each half sub-block 2c,
// 8-15 2c + 1) and [dA ×8 | dB ×8]. chunk8_tile_512's unpacker for the prefill (levels
// within ±32: x biased).
struct Q6kPairs {
  static constexpr bool kNegate = false;
  static constexpr bool kHasMin = false;
  static constexpr int kBytes = 210;

  static void block(const std::uint8_t* wa, const std::uint8_t* wb, Chunk8Pair& w) {
    const __m512i scale_words = q6k_scale_words_pair(wa, wb);
    w.d_ab = broadcast_f16_pair(wa + 208, wb + 208);
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      __m512i q[4];
      q6k_codes_pair(wa, wb, half, q);
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        const int c = 4 * half + k;
        w.levels[c] = _mm512_sub_epi8(q[k], _mm512_set1_epi8(32));
        w.scales[c] = _mm512_permutexvar_epi16(scale_word_index<16, 2>(c), scale_words);
      }
    }
  }
};

// Decode (one token t), kPairs row pairs from r0 (RowPairs). The codes q stay unsigned, vpmaddubsw's
// unsigned operand against x as it is, and the −32 comes back per element pair as
// 32·(x_2i + x_2i+1), one vpmaddubsw of x per chunk shared by the tile's pairs:
// maddubs(q, x) − maddubs(32, x) = maddubs(q − 32, x) exactly (|pair| ≤ 16002 + 8128 < 2^15).
// Against moving each level's sign onto x (a mask, a masked negation and an absolute value per
// chunk and pair) and subtracting 32 from the codes, about a quarter fewer vector uops.
template <int kPairs, class X>
inline void q6k_decode_tile_512(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t r_end, std::int64_t t,
                                const X& xg) {
  constexpr int kBlockBytes = 210;
  const std::int64_t nb = a.cols / 256;
  const RowPairs<kPairs> rows(a, r0, r_end);
  const float* xd = a.x_d + t * nb;
  PairSums<kPairs> sums;  // no mins
  for (std::int64_t b = 0; b < nb; ++b) {
    __m512i lanes[kPairs], scale_words[kPairs];
    prefetch_rows_in_order<kBlockBytes, 2 * kPairs>(rows.row_a[0], a.w_row_bytes, b);
#pragma GCC unroll 4
    for (int p = 0; p < kPairs; ++p) {
      scale_words[p] = q6k_scale_words_pair(rows.row_a[p] + b * kBlockBytes, rows.row_b[p] + b * kBlockBytes);
      lanes[p] = _mm512_setzero_si512();
    }
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      __m512i q[kPairs][4];
#pragma GCC unroll 4
      for (int p = 0; p < kPairs; ++p) q6k_codes_pair(rows.row_a[p] + b * kBlockBytes, rows.row_b[p] + b * kBlockBytes, half, q[p]);
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        const int c = 4 * half + k;
        const __m512i x = xg(8 * b + c);
        const __m512i offset = _mm512_maddubs_epi16(_mm512_set1_epi8(32), x);
#pragma GCC unroll 4
        for (int p = 0; p < kPairs; ++p) {
          const __m512i pairs = _mm512_sub_epi16(_mm512_maddubs_epi16(q[p][k], x), offset);
          lanes[p] = _mm512_dpwssd_epi32(lanes[p], pairs,
                                         _mm512_permutexvar_epi16(scale_word_index<16, 2>(c), scale_words[p]));
        }
      }
    }
#pragma GCC unroll 4
    for (int p = 0; p < kPairs; ++p) {
      const __m512 d_ab = broadcast_f16_pair(rows.row_a[p] + b * kBlockBytes + 208, rows.row_b[p] + b * kBlockBytes + 208);
      sums.acc[p] = _mm512_fmadd_ps(_mm512_mul_ps(d_ab, _mm512_set1_ps(xd[b])), _mm512_cvtepi32_ps(lanes[p]), sums.acc[p]);
    }
  }
#pragma GCC unroll 4
  for (int p = 0; p < kPairs; ++p) sums.store_one(a, p, t, rows.ra[p], rows.rb[p]);
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
