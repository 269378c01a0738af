// chunk8_tile.h — the prefill tile shared by the 256-element types whose block is 8 chunks of
// 32 levels with a scale per 16 elements (Q6_K, Q2_K, Q3_K, IQ4_XS, IQ2_XXS, IQ1_S, IQ1_M), on
// the row-pair layout (row A's levels in a register's low half, row B's in its high half,
// against the chunk's 32 activations broadcast to both: the int32 lanes are the contract's 8
// lanes of A then of B; row_pair.h). For the VNNI build only; internal linkage.
//
// A block's 8 chunks and their scale words are unpacked once into 16 registers for all TT
// tokens of the tile; the tokens' accumulators live in L1 (a load and a store per token and
// block, on ports the products leave idle), so a tile holds 32 tokens; tokens go 8 at a time
// chunk by chunk, so that each one's chain of 8 vpdpwssd (5 cycles each) interleaves with the
// others'. Levels within ±64 multiply x biased from the packed chunk (x + 128, unsigned) and
// each token's lanes start from −128 · Σ sc·q, computed once per row pair and block (exact:
// pair sums stay within 255 · 64 · 2 < 2^15); wider levels (IQ4_XS, ±127) move their sign onto
// unbiased x by a masked negation (AVX-512 has no vpsignb).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// A row pair's block, unpacked.
struct Chunk8Pair {
  __m512i levels[8];       // per chunk [A | B]: signed levels, or |level| when negated
  __m512i scales[8];       // words 0-7 of each half: the scale of elements 0-15; 8-15: of 16-31
  __mmask64 negative[8];   // the levels' signs (Unpack::kNegate only)
  __m512 d_ab;             // [dA ×8 | dB ×8]
};

// Rows ra and rb (rb = ra for a last odd row: computed twice, its copy dropped) × the TT tokens
// of the packed tile at t0, biased unless Unpack::kNegate. Unpack (one per tile, it may keep a
// block's state between its calls) provides kNegate, kHasMin, kBytes,
// block(wa, wb, Chunk8Pair&) for each block, and for kHasMin
// mins(a, token, block, dx, float* mins8) that adds the token's min terms of that block to
// mins8 = [A's 4 min lanes | B's 4].
template <class Unpack, int TT>
void chunk8_tile_512(const Q8MatmulArgs& a, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t0,
                     Unpack& unpack) {
  constexpr bool kNegate = Unpack::kNegate;
  constexpr int kGroup = TT % 8 == 0 ? 8 : TT % 4 == 0 ? 4 : 1;  // tokens whose chains interleave
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* row_a = bytes(a.w) + static_cast<std::size_t>(ra) * a.w_row_bytes;
  const std::uint8_t* row_b = bytes(a.w) + static_cast<std::size_t>(rb) * a.w_row_bytes;
  const std::uint8_t* xq = x.quants(t0);  // [8 nb][TT][32]
  const float* xd = x.scales(t0);         // [nb][TT]
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  alignas(64) float acc[TT][16];
  alignas(32) float mins[TT][8];
  for (int j = 0; j < TT; ++j) {
    _mm512_store_ps(acc[j], _mm512_setzero_ps());
    _mm256_store_ps(mins[j], _mm256_setzero_ps());
  }
  for (std::int64_t b = 0; b < nb; ++b, xq += 8 * 32 * TT, xd += TT) {
    const std::uint8_t* wa = row_a + b * Unpack::kBytes;
    const std::uint8_t* wb = row_b + b * Unpack::kBytes;
    prefetch_ahead<Unpack::kBytes>(wa);
    prefetch_ahead<Unpack::kBytes>(wb);
    Chunk8Pair w;
    unpack.block(wa, wb, w);
    __m512i bias_lanes = _mm512_setzero_si512();  // 128 · Σ sc·q per lane
    if constexpr (!kNegate) {
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c)
        bias_lanes = _mm512_dpwssd_epi32(bias_lanes, _mm512_maddubs_epi16(bias, w.levels[c]), w.scales[c]);
    }
    const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(), bias_lanes);
#pragma GCC unroll 1
    for (int g = 0; g < TT; g += kGroup) {
      __m512i lanes[kGroup];
#pragma GCC unroll 8
      for (int k = 0; k < kGroup; ++k) lanes[k] = start;
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c)
#pragma GCC unroll 8
        for (int k = 0; k < kGroup; ++k) {
          const __m512i xs = _mm512_broadcast_i64x4(load256(xq + 32 * (c * TT + g + k)));
          const __m512i pairs =
              kNegate ? _mm512_maddubs_epi16(w.levels[c], _mm512_mask_sub_epi8(xs, w.negative[c], _mm512_setzero_si512(), xs))
                      : _mm512_maddubs_epi16(xs, w.levels[c]);
          lanes[k] = _mm512_dpwssd_epi32(lanes[k], pairs, w.scales[c]);
        }
#pragma GCC unroll 8
      for (int k = 0; k < kGroup; ++k) {
        const int j = g + k;
        _mm512_store_ps(acc[j], _mm512_fmadd_ps(_mm512_mul_ps(w.d_ab, _mm512_set1_ps(xd[j])),
                                                _mm512_cvtepi32_ps(lanes[k]), _mm512_load_ps(acc[j])));
        if constexpr (Unpack::kHasMin) unpack.mins(a, t0 + j, b, xd[j], mins[j]);
      }
    }
  }
  if constexpr (TT % 8 == 0) {
    for (int g = 0; g < TT; g += 8)
      store_pair_8_tokens(
          a, t0 + g, ra, rb, [&](int j) { return _mm512_load_ps(acc[g + j]); },
          [&](int p) { return _mm512_loadu_ps(mins[g + 2 * p]); });  // mins[j], mins[j + 1] are adjacent
  } else {
    for (int j = 0; j < TT; ++j)
      store_pair_token(a, t0 + j, ra, rb, _mm256_load_ps(acc[j]), _mm256_load_ps(acc[j] + 8), _mm_load_ps(mins[j]),
                       _mm_load_ps(mins[j] + 4));
  }
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
