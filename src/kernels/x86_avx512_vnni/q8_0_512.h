// q8_0_512.h — the Q8_0 matmul on 512-bit registers, two weight rows per register, for the
// VNNI build only (included by ../x86_avx2/q8_0_matmul.cpp when WHALE_VNNI is defined). As in
// q4k_512.h, row A's 32 quants fill the low half and row B's the high half, against the block's
// 32 activations broadcast to both halves, so vpdpbusd's int32 lanes are the contract's 8 lanes
// of A then of B (kernels/q8_matmul.h) and one convert + FMA serves two rows.
//
// vpdpbusd wants one unsigned operand and AVX-512 has no vpsignb, so instead of moving the
// weight's sign onto x (the AVX2 kernel) x is biased: x + 128 = x ^ 0x80 is unsigned, and
// Σ (x + 128)·w = Σ x·w + 128·Σ w, so each lane starts from −128·Σ w (one vpdpbusd of the
// weights with 128 per row pair and block, shared by every token). All exact in int32.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Rows ra and rb (rb = ra for a last odd row: computed twice, its copy dropped) × TT tokens;
// blocks of kBlockBytes (q8_0_matmul.cpp): f16 d, then 32 int8 quants.
template <int TT>
void q8_0_tile_512(const Q8MatmulArgs& a, std::int64_t ra, std::int64_t rb, std::int64_t t0) {
  const std::int64_t nb = a.cols / 32;
  const PairTileInputs<TT> in(a, ra, rb, t0);
  __m512 acc[TT];  // lanes 0-7: row A's acc, 8-15: row B's
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  for (std::int64_t b = 0; b < nb; ++b) {
    const std::uint8_t* wa = in.row_a + b * kBlockBytes;
    const std::uint8_t* wb = in.row_b + b * kBlockBytes;
    prefetch_ahead<kBlockBytes>(wa);
    prefetch_ahead<kBlockBytes>(wb);
    const __m512i w = load_pair(wa, wb, 2);
    // −128·Σ w per lane: 0 − Σ 128·w.
    const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, w));
    const __m512 d_ab = broadcast_f16_pair(wa, wb);
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const __m512i x = _mm512_xor_si512(
          _mm512_broadcast_i64x4(load256(reinterpret_cast<const std::uint8_t*>(in.xq[t] + 32 * b))), bias);
      const __m512i lanes = _mm512_dpbusd_epi32(start, x, w);
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(d_ab, _mm512_set1_ps(in.xd[t][b])), _mm512_cvtepi32_ps(lanes), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) store_row_pair(a, t0 + t, ra, rb, acc[t], _mm256_setzero_ps());
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
