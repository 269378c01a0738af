// block32_512.h — the matmul of the 32-element block types (Q8_0, and Q4_0, Q4_1, Q5_0, Q5_1,
// IQ4_NL unpacked to levels) on 512-bit registers, two weight rows per register, for the VNNI
// build only (included by ../x86_avx2/q8_0_matmul.cpp and legacy_matmul.cpp when WHALE_VNNI is
// defined). As in q4k_512.h, row A's 32 levels fill the low half and row B's the high half,
// against the block's 32 activations broadcast to both halves, so vpdpbusd's int32 lanes are
// the contract's 8 lanes of A then of B (kernels/q8_matmul.h) and one convert + FMA serves two
// rows.
//
// vpdpbusd wants one unsigned operand and AVX-512 has no vpsignb, so instead of moving the
// weight's sign onto x (the AVX2 kernels) x is biased: x + 128 = x ^ 0x80 is unsigned, and
// Σ (x + 128)·w = Σ x·w + 128·Σ w, so each lane starts from −128·Σ w (one vpdpbusd of the
// levels with 128 per row pair and block, shared by every token). All exact in int32.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// One block of two rows, unpacked.
struct Block32Pair {
  __m512i levels;  // [A's 32 signed levels | B's]
  __m512 d;        // [dA ×8 | dB ×8]
  __m256 m;        // [mA ×4 | mB ×4]: the mins of Q4_1 / Q5_1, else unused
};

// Rows ra and rb (rb = ra for a last odd row: computed twice, its copy dropped) × the TT tokens
// of the packed tile at t0. Pair::kBytes is the block size, Pair::kHasMin whether it has a min
// (whose term lands in min lane 0, m·d_x·Σx, lanes 1-3 exact zeros), Pair::unpack(wa, wb) a
// Block32Pair.
template <class Pair, int TT>
void block32_tile_512(const Q8MatmulArgs& a, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t0) {
  const std::uint8_t* row_a = bytes(a.w) + static_cast<std::size_t>(ra) * a.w_row_bytes;
  const std::uint8_t* row_b = bytes(a.w) + static_cast<std::size_t>(rb) * a.w_row_bytes;
  const std::uint8_t* xq = x.quants(t0);
  const float* xd = x.scales(t0);
  const float* xs = x.sums(t0);
  PairSums<TT> sums;
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  const std::int64_t nb = a.cols / 32;
  for (std::int64_t b = 0; b < nb; ++b, xq += 32 * TT, xd += TT, xs += TT) {
    const std::uint8_t* wa = row_a + b * Pair::kBytes;
    const std::uint8_t* wb = row_b + b * Pair::kBytes;
    prefetch_ahead<Pair::kBytes>(wa);
    prefetch_ahead<Pair::kBytes>(wb);
    const Block32Pair w = Pair::unpack(wa, wb);
    // −128·Σ w per lane: 0 − Σ 128·w.
    const __m512i start =
        _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, w.levels));
#pragma GCC unroll 16
    for (int t = 0; t < TT; ++t) {
      const __m512i lanes = _mm512_dpbusd_epi32(start, _mm512_broadcast_i64x4(load256(xq + 32 * t)), w.levels);
      const __m512 dx = _mm512_set1_ps(xd[t]);
      sums.acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(w.d, dx), _mm512_cvtepi32_ps(lanes), sums.acc[t]);
      if constexpr (Pair::kHasMin) {
        const __m256 xsum = _mm256_setr_ps(xs[t], 0.0f, 0.0f, 0.0f, xs[t], 0.0f, 0.0f, 0.0f);
        sums.mins[t] = _mm256_fmadd_ps(_mm256_mul_ps(w.m, _mm512_castps512_ps256(dx)), xsum, sums.mins[t]);
      }
    }
  }
  sums.store(a, t0, ra, rb);
}

// The prefill of a 32-element block type: rows in pairs, each token chunk repacked first.
template <class Pair>
void block32_matmul_512(const Q8MatmulArgs& a) {
  constexpr int kWide = Pair::kHasMin ? kPrefillTokens : 16;
  for_each_packed_row_pair_tile<kWide>(
      a, Pair::kHasMin ? ChunkSums::kBlock32 : ChunkSums::kNone, true, [&](auto tt, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t) {
        block32_tile_512<Pair, decltype(tt)::value>(a, x, ra, rb, t);
      });
}

// Decode (one token), kPairs row pairs from r0 (RowPairs). Here nothing amortizes the unpacking, so the
// weights stay unsigned: Pair::codes(wa, wb) gives the stored codes c = q + Pair::kCodeOffset
// (0..31 for Q5_0, the IQ4_NL table + 128, ...) as vpdpbusd's unsigned operand against x as
// it is, and the offset comes back as kCodeOffset · Σ x per lane, once per block for all the
// tile's pairs: Σ c·x − o·Σ x = Σ q·x, exact in int32. Against the biased-x form of the prefill
// tile (whose −128·Σ w start costs a vpdpbusd per pair and block) and the AVX2 pairs (a sign
// move per row), about half the vector uops per block; several pairs keep as many FMA chains
// (4 cycles a link, one link per block) in flight.
template <class Pair, int kPairs>
void block32_decode_tile_512(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t r_end) {
  const RowPairs<kPairs> rows(a, r0, r_end);
  const std::uint8_t* xq = reinterpret_cast<const std::uint8_t*>(a.x_qs);
  PairSums<kPairs> sums;
  const std::int64_t nb = a.cols / 32;
  for (std::int64_t b = 0; b < nb; ++b) {
    const __m512i x = _mm512_broadcast_i64x4(load256(xq + 32 * b));
    // −o·Σ x per lane, the start of every pair's lanes.
    __m512i start = _mm512_setzero_si512();
    if constexpr (Pair::kCodeOffset != 0)
      start = _mm512_sub_epi32(start, _mm512_dpbusd_epi32(start, _mm512_set1_epi8(static_cast<char>(Pair::kCodeOffset)), x));
    const __m512 dx = _mm512_set1_ps(a.x_d[b]);
    __m256 xsum = _mm256_setzero_ps();
    if constexpr (Pair::kHasMin) {
      const float s = static_cast<float>(a.x_sums16[2 * b] + a.x_sums16[2 * b + 1]);
      xsum = _mm256_setr_ps(s, 0.0f, 0.0f, 0.0f, s, 0.0f, 0.0f, 0.0f);
    }
#pragma GCC unroll 8
    for (int p = 0; p < kPairs; ++p) {
      const std::uint8_t* wa = rows.row_a[p] + b * Pair::kBytes;
      const std::uint8_t* wb = rows.row_b[p] + b * Pair::kBytes;
      prefetch_ahead<Pair::kBytes>(wa);
      prefetch_ahead<Pair::kBytes>(wb);
      const Block32Pair w = Pair::codes(wa, wb);
      const __m512i lanes = _mm512_dpbusd_epi32(start, w.levels, x);
      sums.acc[p] = _mm512_fmadd_ps(_mm512_mul_ps(w.d, dx), _mm512_cvtepi32_ps(lanes), sums.acc[p]);
      if constexpr (Pair::kHasMin)
        sums.mins[p] = _mm256_fmadd_ps(_mm256_mul_ps(w.m, _mm512_castps512_ps256(dx)), xsum, sums.mins[p]);
    }
  }
#pragma GCC unroll 8
  for (int p = 0; p < kPairs; ++p) sums.store_one(a, p, 0, rows.ra[p], rows.rb[p]);
}

// Decode over a.row_begin..a.row_end: four pairs a tile, then pairs.
template <class Pair>
void block32_decode_512(const Q8MatmulArgs& a) {
  std::int64_t r = a.row_begin;
  for (; r + 8 <= a.row_end; r += 8) block32_decode_tile_512<Pair, 4>(a, r, a.row_end);
  for (; r < a.row_end; r += 2) block32_decode_tile_512<Pair, 1>(a, r, a.row_end);
}

// Q8_0: f16 d, then 32 int8 quants.
struct Q8_0Pair {
  static constexpr int kBytes = 34;
  static constexpr bool kHasMin = false;
  static Block32Pair unpack(const std::uint8_t* wa, const std::uint8_t* wb) {
    return {load_pair(wa, wb, 2), broadcast_f16_pair(wa, wb), _mm256_setzero_ps()};
  }
};

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
