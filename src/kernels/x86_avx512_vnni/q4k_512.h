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
#include <cstring>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Both rows' block, unpacked: for each 64-element chunk c the levels of sub-blocks 2c (lo[c])
// and 2c + 1 (hi[c]) as [A | B] bytes, their scale words for vpdpwssd, and the float factors.
struct Q4kPairBlock {
  __m512i lo[4], hi[4];
  __m512i scale_lo[4], scale_hi[4];
  __m128 d_dmin;        // [dA, −dminA, dB, −dminB] (the mins subtract)
  __m256i min_words;    // A's 8 mins then B's, as words

  // d_dmin spread over the halves: [dA ×8 | dB ×8], [−dminA ×8 | −dminB ×8] and the 4 min
  // lanes' [−dminA ×4 | −dminB ×4] (d_dmin may come scaled by an activation's d first).
  static __m512 d_halves(__m128 d_dmin) {
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2),
                                 _mm512_castps128_ps512(d_dmin));
  }
  static __m512 neg_dmin_halves(__m128 d_dmin) {
    return _mm512_permutexvar_ps(_mm512_setr_epi32(1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3),
                                 _mm512_castps128_ps512(d_dmin));
  }
  static __m256 neg_dmin_quarters(__m128 d_dmin) {
    return _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d_dmin), _mm256_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3));
  }
};

// unpack_scales_simd (../x86_avx2/q4k.cpp) of rows A and B at once, one per 128-bit half: both
// rows' 12 scale bytes in one register halve the work, which decode pays for every block.
// Returns the 64-bit words [A's 8 scales, A's 8 mins, B's scales, B's mins].
inline __m256i unpack_scales_pair(const std::uint8_t* sa, const std::uint8_t* sb) {
  const __m256i w = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sa))),
                                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb)), 1);
  const __m256i low_words = _mm256_srlv_epi32(_mm256_shuffle_epi32(w, _MM_SHUFFLE(2, 1, 2, 0)),
                                              _mm256_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4));
  const __m256i top_bits = _mm256_srli_epi32(_mm256_shuffle_epi32(w, _MM_SHUFFLE(1, 1, 0, 0)), 2);
  const __m256i six_four = _mm256_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F,
                                             0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F);
  const __m256i top_two = _mm256_setr_epi32(0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030);
  return _mm256_ternarylogic_epi32(_mm256_and_si256(low_words, six_four), top_bits, top_two, 0xF8);  // a | (b & c)
}

template <bool kQ5>
inline Q4kPairBlock unpack_q4k_pair(const std::uint8_t* wa, const std::uint8_t* wb) {
  constexpr int kQsOffset = kQ5 ? 48 : 16;
  Q4kPairBlock w;
  // [A's scales, B's scales | A's mins, B's mins].
  const __m256i sm = _mm256_permute4x64_epi64(unpack_scales_pair(wa + 4, wb + 4), _MM_SHUFFLE(3, 1, 2, 0));
  const __m512i scale_words = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm256_castsi256_si128(sm)));
  w.min_words = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(sm, 1));
  w.d_dmin = _mm_xor_ps(
      _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(load_u32(wa) | static_cast<std::uint64_t>(load_u32(wb)) << 32))),
      _mm_setr_ps(0.0f, -0.0f, 0.0f, -0.0f));
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  __m512i qh = _mm512_setzero_si512();
  if constexpr (kQ5) qh = load_pair(wa, wb, 16);
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m512i q = load_pair(wa, wb, kQsOffset + 32 * c);
    w.lo[c] = _mm512_and_si512(q, low_mask);
    w.hi[c] = _mm512_and_si512(_mm512_srli_epi16(q, 4), low_mask);
    if constexpr (kQ5) {
      // Element l of sub-block 2c takes bit 2c of qh[l], of 2c + 1 bit 2c + 1.
      const __m512i sixteen = _mm512_set1_epi8(0x10);
      w.lo[c] = _mm512_mask_add_epi8(
          w.lo[c], _mm512_test_epi8_mask(qh, _mm512_set1_epi8(static_cast<char>(1 << (2 * c)))), w.lo[c], sixteen);
      w.hi[c] = _mm512_mask_add_epi8(
          w.hi[c], _mm512_test_epi8_mask(qh, _mm512_set1_epi8(static_cast<char>(2 << (2 * c)))), w.hi[c], sixteen);
    }
    w.scale_lo[c] = _mm512_permutexvar_epi16(scale_word_index<8, 1>(2 * c), scale_words);
    w.scale_hi[c] = _mm512_permutexvar_epi16(scale_word_index<8, 1>(2 * c + 1), scale_words);
  }
  return w;
}

// The int32 lanes of a block, [A's 8 | B's 8], of kTokens tokens: xs(k, s) gives the 32
// activations of token k's sub-block s (broadcast to both halves). Chunk by chunk across the
// tokens, so that each token's chain of eight vpdpwssd (5 cycles each) has the others' work
// between its links: one token at a time filled the scheduler with waiting links.
template <int kTokens, class XOfSubBlock>
inline void q4k_pair_lanes(const Q4kPairBlock& w, XOfSubBlock&& xs, __m512i (&lanes)[kTokens]) {
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c)
#pragma GCC unroll 8
    for (int k = 0; k < kTokens; ++k) {
      const __m512i p_lo = _mm512_maddubs_epi16(w.lo[c], xs(k, 2 * c));
      const __m512i p_hi = _mm512_maddubs_epi16(w.hi[c], xs(k, 2 * c + 1));
      lanes[k] = c == 0 ? _mm512_madd_epi16(p_lo, w.scale_lo[0]) : _mm512_dpwssd_epi32(lanes[k], p_lo, w.scale_lo[c]);
      lanes[k] = _mm512_dpwssd_epi32(lanes[k], p_hi, w.scale_hi[c]);
    }
}

// Rows [r0, r1) in pairs (a last odd row is computed twice and stored once) × one token t, x
// read from the activations as quantized (decode, and a prefill chunk's last odd tokens). One
// call takes all the pairs: called per pair, every pair rebuilt the loop's constants (the scale
// permutes' indices, masks) and paid a call, ~90 instructions against ~100 a block pair, and
// a 1536-column row has 6 blocks.
template <bool kQ5, class X>
void matmul_rows_512_one(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t r1, std::int64_t t, const X& xg) {
  constexpr int kBlockBytes = kQ5 ? 176 : 144;
  const std::int64_t nb = a.cols / 256;
  const std::int16_t* xs32 = a.x_sums32 + t * (a.cols / 32);
  for (std::int64_t ra = r0; ra < r1; ra += 2) {
    const std::int64_t rb = ra + 1 < r1 ? ra + 1 : ra;
    const PairTileInputs<1> in(a, ra, rb, t);
    PairSums<1> sums;
    for (std::int64_t b = 0; b < nb; ++b) {
      const std::uint8_t* wa = in.row_a + b * kBlockBytes;
      const std::uint8_t* wb = in.row_b + b * kBlockBytes;
      prefetch_rows_in_order<kBlockBytes, 2>(in.row_a, a.w_row_bytes, b);
      const Q4kPairBlock w = unpack_q4k_pair<kQ5>(wa, wb);
      // Two chains of four vpdpwssd (even and odd sub-blocks), not one of eight: one token has
      // no other work to fill a chain's latency, and int32 addition is exact in any order.
      __m512i even = _mm512_madd_epi16(_mm512_maddubs_epi16(w.lo[0], xg(8 * b)), w.scale_lo[0]);
      __m512i odd = _mm512_madd_epi16(_mm512_maddubs_epi16(w.hi[0], xg(8 * b + 1)), w.scale_hi[0]);
#pragma GCC unroll 3
      for (int c = 1; c < 4; ++c) {
        even = _mm512_dpwssd_epi32(even, _mm512_maddubs_epi16(w.lo[c], xg(8 * b + 2 * c)), w.scale_lo[c]);
        odd = _mm512_dpwssd_epi32(odd, _mm512_maddubs_epi16(w.hi[c], xg(8 * b + 2 * c + 1)), w.scale_hi[c]);
      }
      // The four factors times dx before they are spread (one 4-lane multiply, not two wide ones).
      const __m128 scaled = _mm_mul_ps(w.d_dmin, _mm_set1_ps(in.xd[0][b]));
      sums.acc[0] = _mm512_fmadd_ps(Q4kPairBlock::d_halves(scaled), _mm512_cvtepi32_ps(_mm512_add_epi32(even, odd)),
                                    sums.acc[0]);
      // Lane p of each row: m_{2p}·pair_{2p} + m_{2p+1}·pair_{2p+1}, the contract's min lane p.
      const __m256i pairs =
          _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xs32 + 8 * b)));
      sums.mins[0] = _mm256_fmadd_ps(Q4kPairBlock::neg_dmin_quarters(scaled),
                                     _mm256_cvtepi32_ps(_mm256_madd_epi16(w.min_words, pairs)), sums.mins[0]);
    }
    sums.store(a, t, ra, rb);
  }
}
template <bool kQ5>
void matmul_rows_512_one(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t r1, std::int64_t t) {
  with_x_groups(a, t, [&](const auto& xg) { matmul_rows_512_one<kQ5>(a, r0, r1, t, xg); });
}

// Rows ra and rb × the TT tokens (even) of the packed tile at t0 (unbiased quants,
// token-pair mins sums; row_pair.h). The block's unpacked levels and scales take 16 registers,
// so the tokens' accumulators live in L1 (a load and a store per token and block, on ports the
// products do not use) and a tile can hold 32 or 64 tokens, a quarter or less of the per-token
// share of the unpacking that 8 register-resident tokens paid. The mins of two tokens share one
// vpmaddwd, convert, multiply and FMA: their sums come interleaved, lane 2p + k of a row
// holding min lane p of token k.
template <int TT, bool kQ5>
void matmul_tile_512_packed(const Q8MatmulArgs& a, const PackedChunk& x, std::int64_t ra, std::int64_t rb,
                            std::int64_t t0) {
  static_assert(TT % 2 == 0);
  constexpr int kGroup = TT % 8 == 0 ? 8 : TT % 4 == 0 ? 4 : 2;  // tokens whose chains interleave
  constexpr int kBlockBytes = kQ5 ? 176 : 144;
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* row_a = bytes(a.w) + static_cast<std::size_t>(ra) * a.w_row_bytes;
  const std::uint8_t* row_b = bytes(a.w) + static_cast<std::size_t>(rb) * a.w_row_bytes;
  const std::uint8_t* xq = x.quants(t0);      // [8 nb][TT][32]
  const float* xd = x.scales(t0);             // [nb][TT]
  const std::int16_t* xs = x.pair_sums(t0);   // [nb][TT / 2][16]
  alignas(64) float acc[TT][16];
  alignas(64) float mins[TT / 2][16];
#pragma GCC unroll 16
  for (int j = 0; j < TT; ++j) _mm512_store_ps(acc[j], _mm512_setzero_ps());
#pragma GCC unroll 8
  for (int p = 0; p < TT / 2; ++p) _mm512_store_ps(mins[p], _mm512_setzero_ps());
  const __m512i pair_index = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  for (std::int64_t b = 0; b < nb; ++b, xq += 8 * 32 * TT, xd += TT, xs += 8 * TT) {
    const std::uint8_t* wa = row_a + b * kBlockBytes;
    const std::uint8_t* wb = row_b + b * kBlockBytes;
    prefetch_ahead<kBlockBytes>(wa);
    prefetch_ahead<kBlockBytes>(wb);
    const Q4kPairBlock w = unpack_q4k_pair<kQ5>(wa, wb);
    const __m512 d_ab = Q4kPairBlock::d_halves(w.d_dmin), neg_dmin_ab = Q4kPairBlock::neg_dmin_halves(w.d_dmin);
    // Lane 2p + k of each row: that row's min pair p (for token k of the pair).
    const __m512i min_words = _mm512_permutexvar_epi32(pair_index, _mm512_castsi256_si512(w.min_words));
#pragma GCC unroll 1
    for (int g = 0; g < TT; g += kGroup) {
      __m512i lanes[kGroup];
      q4k_pair_lanes(
          w, [&](int k, int s) { return _mm512_broadcast_i64x4(load256(xq + 32 * (s * TT + g + k))); }, lanes);
#pragma GCC unroll 8
      for (int k = 0; k < kGroup; ++k)
        _mm512_store_ps(acc[g + k], _mm512_fmadd_ps(_mm512_mul_ps(d_ab, _mm512_set1_ps(xd[g + k])),
                                                    _mm512_cvtepi32_ps(lanes[k]), _mm512_load_ps(acc[g + k])));
#pragma GCC unroll 4
      for (int p = g / 2; p < (g + kGroup) / 2; ++p) {
        double dx_pair;  // [dx of token 2p, of 2p + 1], broadcast as one 64-bit load
        std::memcpy(&dx_pair, xd + 2 * p, sizeof dx_pair);
        const __m512i pair_sums = _mm512_broadcast_i64x4(load256(reinterpret_cast<const std::uint8_t*>(xs + 16 * p)));
        _mm512_store_ps(mins[p], _mm512_fmadd_ps(_mm512_mul_ps(neg_dmin_ab, _mm512_castpd_ps(_mm512_set1_pd(dx_pair))),
                                                 _mm512_cvtepi32_ps(_mm512_madd_epi16(min_words, pair_sums)),
                                                 _mm512_load_ps(mins[p])));
      }
    }
  }
  if constexpr (TT % 8 == 0) {
    // mins[p] lane 2q + k of a row → that row's lane q of token 2p + k.
    const __m512i by_token = even_then_odd_dwords();
    for (int g = 0; g < TT; g += 8)
      store_pair_8_tokens(
          a, t0 + g, ra, rb, [&](int j) { return _mm512_load_ps(acc[g + j]); },
          [&](int p) { return _mm512_permutexvar_ps(by_token, _mm512_load_ps(mins[g / 2 + p])); });
  } else {
    for (int j = 0; j < TT; ++j) {
      const float* m = mins[j / 2] + j % 2;
      store_pair_token(a, t0 + j, ra, rb, _mm256_load_ps(acc[j]), _mm256_load_ps(acc[j] + 8),
                       _mm_setr_ps(m[0], m[2], m[4], m[6]), _mm_setr_ps(m[8], m[10], m[12], m[14]));
    }
  }
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
