// block32_tile.h — the AVX2 prefill of the 32-element block types (Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1, IQ4_NL) × Q8_0 activations: one weight row × up to 8 tokens of a repacked token chunk
// (packed_tokens.h). Internal linkage, like avx2_util.h; included by the AVX2 build only (the
// VNNI build runs ../x86_avx512_vnni/block32_512.h).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/q8_matmul_args.h"
#include "kernels/tile_walk.h"
#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx2/packed_tokens.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Block b + 1 unpacked while block b's tokens run (block32_tile): its levels, their absolute
// values, d_w · d_x of the tile's tokens and the min term's factor, stored for loads.
struct Block32Stage {
  __m256i q;
  __m256i wabs;
  alignas(32) float dd[8];
  __m256 min_dx;  // m · d_x per token (Q4_1 / Q5_1)
};

template <class W>
inline void stage_block(const std::uint8_t* w, const float* xd, Block32Stage& s) {
  const auto u = W::unpack(w);
  s.q = u.q;
  s.wabs = _mm256_sign_epi8(u.q, u.q);
  // d_w · d_x of the tile's tokens in one multiply, then broadcast from memory per token. A
  // narrower tile reads the next tile's scales (or the buffer's slack) into its unused lanes.
  const __m256 dx = _mm256_loadu_ps(xd);
  _mm256_store_ps(s.dd, _mm256_mul_ps(u.d, dx));
  if constexpr (W::kHasMin) s.min_dx = _mm256_mul_ps(_mm256_set1_ps(u.m), dx);
}

// One weight row r × TT tokens from t0 over all blocks. W::unpack(block) gives the block's
// signed levels (|q| ≤ 128), its scale d in every lane and, where W::kHasMin, its min m. The
// level's sign moves onto x (exact: x ≠ -128), so vpmaddubsw's pairs are ≤ 2 · 128 · 127.
// Every output is the contract's sum (kernels/q8_matmul.h); the min term of Q4_1 / Q5_1 lands
// in min lane 0 (lanes 1-3 are exact zeros), so all TT tokens' min lanes fit one vector.
// Block b + 1 is unpacked (into memory) before block b's tokens: unpacked in line, the levels
// (from a chain of ~10 dependent ops, then spilled: 8 accumulators and the unpacking's
// constants fill the 16 registers) held back every token's first op, and the scheduler filled
// with waiting ops (the loop in L1, Q5_0: 33 cycles a block, 24 without the spill).
template <class W, int TT>
void block32_tile(const Q8MatmulArgs& a, const PackedTokens& x, std::int64_t r, std::int64_t t0) {
  const std::int64_t nb = a.cols / 32;
  const std::uint8_t* w = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  const std::int8_t* xq = x.quants(t0);
  const float* xd = x.scales(t0);
  const float* xs = x.sums(t0);
  __m256 acc[TT];
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) acc[t] = _mm256_setzero_ps();
  __m256 mins = _mm256_setzero_ps();  // lane t: token t's min lane 0
  const __m256i ones = _mm256_set1_epi16(1);
  Block32Stage ring[2];
  stage_block<W>(w, xd, ring[0]);
  for (std::int64_t b = 0; b < nb; ++b, w += W::kBytes, xq += 32 * TT, xd += TT, xs += TT) {
    prefetch_ahead<W::kBytes>(w);
    if (b + 1 < nb) stage_block<W>(w + W::kBytes, xd + TT, ring[(b + 1) & 1]);
    asm("" : "+m"(ring));  // the stage goes through memory, not registers
    const Block32Stage& cur = ring[b & 1];
    if constexpr (W::kHasMin) mins = _mm256_fmadd_ps(cur.min_dx, _mm256_loadu_ps(xs), mins);
    const __m256i wabs = cur.wabs;
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const __m256i xt = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq + 32 * t));
      const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, _mm256_sign_epi8(xt, cur.q)), ones);
      acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(cur.dd + t), _mm256_cvtepi32_ps(s), acc[t]);
    }
  }
  alignas(32) float m[8];
  _mm256_store_ps(m, mins);
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t)
    a.y[(t0 + t) * a.y_stride + r] = hsum_f32(acc[t]) + ((m[t] + 0.0f) + (0.0f + 0.0f));
}

// The prefill of a 32-element type W.
template <class W>
void block32_matmul(const Q8MatmulArgs& a) {
  for_each_packed_tile(a, W::kHasMin ? PackedSums::kBlock32 : PackedSums::kNone, false,
                       [&](auto tt, const PackedTokens& x, std::int64_t r, std::int64_t t) {
                         block32_tile<W, decltype(tt)::value>(a, x, r, t);
                       });
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
