// q4k_512.h — the Q4_K / Q5_K matmul on 512-bit registers, two weight rows at a time, for the
// VNNI build only (included by ../x86_avx2/q4k.cpp when WHALE_VNNI is defined; internal
// linkage, like avx2_util.h).
//
// Why: on Xeons with two 512-bit multiply ports (here vpmaddubsw + vpdpwssd chains ran 479
// GOP/s per core on zmm against 239 on ymm) a zmm instruction does twice the int8 work, but
// with one row per register the per-block float step (fold 16 lanes to the contract's 8,
// convert, scale, add, and the same for the mins) cost as much as the products. Two rows share
// each register instead: its low half holds row A's bytes, its high half row B's, against the
// same activations in both halves, so the int32 lanes are the contract's 8 lanes of A then of B
// (kernels/q8_matmul.h, lanes by chunk), no fold, and one convert + FMA serves two rows.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Both rows' block, unpacked under the contract's lanes by chunk (Q8Lanes::kByChunk): register
// j holds the 8-byte piece j of the four 64-element chunks' nibble bytes, as the 128-bit lanes
// [A's chunks 0, 1 | B's 0, 1 | A's 2, 3 | B's 2, 3], so each dword only ever sees one sub-block:
// 2c (low nibbles, lo[j]) or 2c + 1 (high, hi[j]). Four vpdpbusd then add a sub-block's byte
// products before its scale, and one vpdpwssd per nibble half applies the scales: 8 vpdpbusd + 2
// vpdpwssd a block pair and token where the lanes by position took 8 vpmaddubsw + 8 vpdpwssd,
// each scaled separately. The int32 lanes come as [A's 0-3 | B's 0-3 | A's 4-7 | B's 4-7]
// (rows_from_quarters puts them back in halves once per tile).
struct Q4kPairBlock {
  __m512i lo[4], hi[4];
  __m512i scale_lo, scale_hi;  // the dword of contract lane 2c + p of a row: its sc[2c], sc[2c + 1]
  __m128 d_dmin;               // [dA, −dminA, dB, −dminB] (the mins subtract)
  __m256i min_words;           // A's 8 mins then B's, as words

  // d_dmin spread over the lanes' quarters [dA ×4 | dB ×4 | dA ×4 | dB ×4], over the halves
  // [−dminA ×8 | −dminB ×8], and over the 4 min lanes' [−dminA ×4 | −dminB ×4] (d_dmin may come
  // scaled by an activation's d first).
  static __m512 d_quarters(__m128 d_dmin) {
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 2),
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

// unpack_scales_halves (../x86_avx2/q4k.cpp) of rows A and B at once, one per 128-bit half:
// both rows' 12 scale bytes in one register halve the work, which decode pays for every block.
// Returns the 64-bit words [A's 8 scales, A's 8 mins, B's scales, B's mins].
inline __m256i unpack_scales_pair(const std::uint8_t* sa, const std::uint8_t* sb) {
  return unpack_scales_halves(_mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sa))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb)), 1));
}

// The two rows' 128 nibble bytes at qa and qb as pieces by chunk: r[j] = qword j of [A's chunks
// 0, 1 | B's 0, 1 | A's 2, 3 | B's 2, 3]. The 128-bit lanes need vshufi64x2 in the second round,
// where halves [A's 0..3 | B's 0..3] took vpermt2q: Q4_K decode cache-hot, one core, 7168×2048
// 0.28–0.32 → 0.26–0.27 ms, 1536×8960 0.26–0.29 → 0.23–0.24.
inline void nibble_pieces_by_chunk(const std::uint8_t* qa, const std::uint8_t* qb, __m512i (&r)[4]) {
  const __m512i a01 = _mm512_loadu_si512(qa), a23 = _mm512_loadu_si512(qa + 64);
  const __m512i b01 = _mm512_loadu_si512(qb), b23 = _mm512_loadu_si512(qb + 64);
  // [X0j, X1j, X0j', X1j' | Y0j, Y1j, Y0j', Y1j'] (X, Y: A's and B's chunks; j, j' = 0, 1 or 2, 3).
  const __m512i first = _mm512_setr_epi64(0, 4, 1, 5, 8, 12, 9, 13), second = _mm512_setr_epi64(2, 6, 3, 7, 10, 14, 11, 15);
  const __m512i t01 = _mm512_permutex2var_epi64(a01, first, b01), t23 = _mm512_permutex2var_epi64(a01, second, b01);
  const __m512i u01 = _mm512_permutex2var_epi64(a23, first, b23), u23 = _mm512_permutex2var_epi64(a23, second, b23);
  // [X0j, X1j | Y0j, Y1j | X2j, X3j | Y2j, Y3j].
  r[0] = _mm512_shuffle_i64x2(t01, u01, _MM_SHUFFLE(2, 0, 2, 0));
  r[1] = _mm512_shuffle_i64x2(t01, u01, _MM_SHUFFLE(3, 1, 3, 1));
  r[2] = _mm512_shuffle_i64x2(t23, u23, _MM_SHUFFLE(2, 0, 2, 0));
  r[3] = _mm512_shuffle_i64x2(t23, u23, _MM_SHUFFLE(3, 1, 3, 1));
}

// kHighInPlace (Q4_K decode): the high nibbles stay in place (q & 0xF0, 16 × the level), and the
// sums of their products are shifted right by 4 once (exact: every product is a multiple of 16),
// saving a shift per register where the unpacking is paid per block and token.
template <bool kQ5, bool kHighInPlace>
inline Q4kPairBlock unpack_q4k_pair(const std::uint8_t* wa, const std::uint8_t* wb) {
  static_assert(!(kQ5 && kHighInPlace), "a fifth bit does not fit above a nibble in place");
  constexpr int kQsOffset = kQ5 ? 48 : 16;
  Q4kPairBlock w;
  // [A's scales, B's scales | A's mins, B's mins].
  const __m256i sm = _mm256_permute4x64_epi64(unpack_scales_pair(wa + 4, wb + 4), _MM_SHUFFLE(3, 1, 2, 0));
  const __m512i scales = _mm512_cvtepu8_epi32(_mm256_castsi256_si128(sm));  // [A's 8 | B's 8] as dwords
  w.scale_lo = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 0, 2, 2, 8, 8, 10, 10, 4, 4, 6, 6, 12, 12, 14, 14), scales);
  w.scale_hi = _mm512_permutexvar_epi32(_mm512_setr_epi32(1, 1, 3, 3, 9, 9, 11, 11, 5, 5, 7, 7, 13, 13, 15, 15), scales);
  w.min_words = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(sm, 1));
  w.d_dmin = _mm_xor_ps(
      _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(load_u32(wa) | static_cast<std::uint64_t>(load_u32(wb)) << 32))),
      _mm_setr_ps(0.0f, -0.0f, 0.0f, -0.0f));
  __m512i q[4];
  nibble_pieces_by_chunk(wa + kQsOffset, wb + kQsOffset, q);
  const __m512i low_mask = _mm512_set1_epi8(0x0F);
  __m512i qh = _mm512_setzero_si512();
  if constexpr (kQ5) qh = load_pair(wa, wb, 16);
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    w.lo[j] = _mm512_and_si512(q[j], low_mask);
    w.hi[j] = kHighInPlace ? _mm512_andnot_si512(low_mask, q[j]) : _mm512_and_si512(_mm512_srli_epi16(q[j], 4), low_mask);
    if constexpr (kQ5) {
      // Element l of chunk c's low nibbles takes bit 2c of qh[l], of its high ones bit 2c + 1; the
      // bytes of piece j are l = 8j..8j + 7 of each chunk (qh's qword j, row A's or B's).
      const __m512i qh_j = _mm512_permutexvar_epi64(_mm512_setr_epi64(j, j, 4 + j, 4 + j, j, j, 4 + j, 4 + j), qh);
      const __m512i bit_lo = _mm512_setr_epi64(0x0101010101010101, 0x0404040404040404, 0x0101010101010101, 0x0404040404040404,
                                               0x1010101010101010, 0x4040404040404040, 0x1010101010101010, 0x4040404040404040);
      const __m512i sixteen = _mm512_set1_epi8(0x10);
      w.lo[j] = _mm512_mask_add_epi8(w.lo[j], _mm512_test_epi8_mask(qh_j, bit_lo), w.lo[j], sixteen);
      w.hi[j] = _mm512_mask_add_epi8(w.hi[j], _mm512_test_epi8_mask(qh_j, _mm512_add_epi8(bit_lo, bit_lo)), w.hi[j], sixteen);
    }
  }
  return w;
}

// The int32 lanes of a block for kTokens tokens, in quarters (Q4kPairBlock): x(k, r) gives token
// k's group r (x_pieces_by_chunk) as [pieces 0, 1 | 0, 1 | 2, 3 | 2, 3] (x_quarters). A run of
// pieces adds into one lane before its scale while the sum fits the int16 that vpdpwssd reads:
// 4 pieces of Q4_K (|Σ| ≤ 16 · 15 · 128 < 2^15), 2 of Q5_K (16 · 31 · 128 would not fit). The
// tokens' chains interleave, so each has the others' work between its links.
template <bool kQ5, bool kHighInPlace, int kTokens, class X>
inline void q4k_pair_lanes(const Q4kPairBlock& w, X&& x, __m512i (&lanes)[kTokens]) {
  constexpr int kRun = kQ5 ? 2 : 4;
#pragma GCC unroll 2
  for (int j0 = 0; j0 < 4; j0 += kRun) {
    __m512i lo[kTokens], hi[kTokens];
#pragma GCC unroll 8
    for (int k = 0; k < kTokens; ++k) lo[k] = hi[k] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int j = j0; j < j0 + kRun; ++j)
#pragma GCC unroll 8
      for (int k = 0; k < kTokens; ++k) {
        lo[k] = _mm512_dpbusd_epi32(lo[k], w.lo[j], x(k, j));
        hi[k] = _mm512_dpbusd_epi32(hi[k], w.hi[j], x(k, 4 + j));
      }
#pragma GCC unroll 8
    for (int k = 0; k < kTokens; ++k) {
      if constexpr (kHighInPlace) hi[k] = _mm512_srai_epi32(hi[k], 4);
      lanes[k] = j0 == 0 ? _mm512_madd_epi16(lo[k], w.scale_lo) : _mm512_dpwssd_epi32(lanes[k], lo[k], w.scale_lo);
      lanes[k] = _mm512_dpwssd_epi32(lanes[k], hi[k], w.scale_hi);
    }
  }
}

// A group of x_pieces_by_chunk (4 pieces) spread over the 128-bit lanes as the weights' chunks
// are: [pieces 0, 1 | 0, 1 | 2, 3 | 2, 3].
inline __m512i x_quarters(__m256i group) {
  return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(group));
}

// The int32 lanes of rows A and B from quarters [A's 0-3 | B's 0-3 | A's 4-7 | B's 4-7] (or their
// floats) into halves [A's 8 | B's 8], as the stores want them.
inline __m512 rows_from_quarters(__m512 v) {
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15), v);
}

// Decode's token (t = 0) as its kernel reads it: each group in x_quarters' form, block b's 8
// groups at 512 b (derived_groups, row_pair.h: ~10 instructions a group once per call, against
// the rows' ~40 a block pair each).
class PiecesTwice {
 public:
  explicit PiecesTwice(const Q8MatmulArgs& a)
      : groups_(derived_groups(a, [&](std::int64_t g) {
          return x_quarters(x_pieces_by_chunk(a.x_qs + 256 * (g / 8), static_cast<int>(g % 8)));
        })) {}
  __m512i operator()(std::int64_t b, int r) const { return _mm512_load_si512(groups_ + 64 * (8 * b + r)); }

 private:
  const std::uint8_t* groups_;
};

// Token t's groups from a packed chunk (PackedX::kPiecesByChunk, one token's tile), spread by
// x_quarters: a prefill chunk's last odd token.
struct PackedPieces {
  const std::uint8_t* quants;
  __m512i operator()(std::int64_t b, int r) const { return x_quarters(load256(quants + 32 * (8 * b + r))); }
};

// Rows [r0, r1) in pairs (a last odd row is computed twice and stored once) × one token t, x(b,
// r) its group r of block b (PiecesTwice, PackedPieces). One call takes all the pairs: called per
// pair, every pair rebuilt the loop's constants (the permutes' indices, masks) and paid a call,
// ~90 instructions against ~100 a block pair, and a 1536-column row has 6 blocks.
template <bool kQ5, class X>
void matmul_rows_512_one(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t r1, std::int64_t t, const X& x) {
  constexpr int kBlockBytes = kQ5 ? 176 : 144;
  const std::int64_t nb = a.cols / 256;
  const std::int16_t* xs32 = a.x_sums32 + t * (a.cols / 32);
  const float* xd = a.x_d + t * nb;
  for (std::int64_t ra = r0; ra < r1; ra += 2) {
    const std::int64_t rb = ra + 1 < r1 ? ra + 1 : ra;
    const PairTileInputs<1> in(a, ra, rb, t);
    PairSums<1> sums;
    for (std::int64_t b = 0; b < nb; ++b) {
      const std::uint8_t* wa = in.row_a + b * kBlockBytes;
      const std::uint8_t* wb = in.row_b + b * kBlockBytes;
      prefetch_rows_in_order<kBlockBytes, 2>(in.row_a, a.w_row_bytes, b);
      const Q4kPairBlock w = unpack_q4k_pair<kQ5, !kQ5>(wa, wb);
      __m512i lanes[1];
      q4k_pair_lanes<kQ5, !kQ5>(w, [&](int, int r) { return x(b, r); }, lanes);
      // The four factors times dx before they are spread (one 4-lane multiply, not two wide ones).
      const __m128 scaled = _mm_mul_ps(w.d_dmin, _mm_set1_ps(xd[b]));
      sums.acc[0] = _mm512_fmadd_ps(Q4kPairBlock::d_quarters(scaled), _mm512_cvtepi32_ps(lanes[0]), sums.acc[0]);
      // Lane p of each row: m_{2p}·pair_{2p} + m_{2p+1}·pair_{2p+1}, the contract's min lane p.
      const __m256i pairs =
          _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xs32 + 8 * b)));
      sums.mins[0] = _mm256_fmadd_ps(Q4kPairBlock::neg_dmin_quarters(scaled),
                                     _mm256_cvtepi32_ps(_mm256_madd_epi16(w.min_words, pairs)), sums.mins[0]);
    }
    sums.acc[0] = rows_from_quarters(sums.acc[0]);
    sums.store(a, t, ra, rb);
  }
}

// Rows ra and rb × the TT tokens (even) of the packed tile at t0 (PackedX::kPiecesByChunk,
// token-pair mins sums; row_pair.h). The block's unpacked levels and scales take 10 registers,
// so the tokens' accumulators live in L1 (a load and a store per token and block, on ports the
// products do not use) and a tile can hold 32 or 64 tokens, a quarter or less of the per-token
// share of the unpacking that 8 register-resident tokens paid. The mins of two tokens share one
// vpmaddwd, convert, multiply and FMA: their sums come interleaved, lane 2p + k of a row
// holding min lane p of token k.
template <int TT, bool kQ5>
void matmul_tile_512_packed(const Q8MatmulArgs& a, const PackedChunk& x, std::int64_t ra, std::int64_t rb,
                            std::int64_t t0) {
  static_assert(TT % 2 == 0);
  // Tokens whose chains interleave: each holds two int32 sums and its lanes in registers, beside
  // the block's 10 (Q5_K's two runs keep the lanes live across both: 4 tokens).
  constexpr int kMaxGroup = kQ5 ? 4 : 8;
  constexpr int kGroup = TT % kMaxGroup == 0 ? kMaxGroup : TT % 4 == 0 ? 4 : 2;
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
    const Q4kPairBlock w = unpack_q4k_pair<kQ5, false>(wa, wb);
    const __m512 d_ab = Q4kPairBlock::d_quarters(w.d_dmin), neg_dmin_ab = Q4kPairBlock::neg_dmin_halves(w.d_dmin);
    // Lane 2p + k of each row: that row's min pair p (for token k of the pair).
    const __m512i min_words = _mm512_permutexvar_epi32(pair_index, _mm512_castsi256_si512(w.min_words));
#pragma GCC unroll 1
    for (int g = 0; g < TT; g += kGroup) {
      __m512i lanes[kGroup];
      q4k_pair_lanes<kQ5, false>(
          w, [&](int k, int r) { return x_quarters(load256(xq + 32 * (r * TT + g + k))); }, lanes);
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
          a, t0 + g, ra, rb, [&](int j) { return rows_from_quarters(_mm512_load_ps(acc[g + j])); },
          [&](int p) { return _mm512_permutexvar_ps(by_token, _mm512_load_ps(mins[g / 2 + p])); });
  } else {
    for (int j = 0; j < TT; ++j) {
      const float* m = mins[j / 2] + j % 2;
      const __m512 rows = rows_from_quarters(_mm512_load_ps(acc[j]));
      store_pair_token(a, t0 + j, ra, rb, _mm512_castps512_ps256(rows),
                       _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(rows), 1)),
                       _mm_setr_ps(m[0], m[2], m[4], m[6]), _mm_setr_ps(m[8], m[10], m[12], m[14]));
    }
  }
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
