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

// How a type's levels meet x in vpmaddubsw, which multiplies unsigned by signed bytes:
// - kSignOntoX (Q8_0, IQ4_NL, Q4_0, Q5_0: signed levels, up to ±127): |q| times x with q's sign
//   (exact: x ≠ -128; pairs ≤ 2 · 128 · 127);
// - kCodes (Q4_1, Q5_1: unsigned codes ≤ 31): the codes times x as they are, no vpsignb (pairs
//   ≤ 2 · 31 · 128). Q4_0 / Q5_0 as codes with x packed as x + 128 and the block's 128 · Σ q
//   taken off ran no faster: their unpacking, not the sign, bounds them.
// Both give the contract's exact int32 lanes.
enum class Block32Operand { kSignOntoX, kCodes };

template <class W>
constexpr Block32Operand block32_operand() {
  if constexpr (kHasCodes<W>)
    if constexpr (W::kCodeOffset == 0) return Block32Operand::kCodes;
  return Block32Operand::kSignOntoX;
}

// Block b + 1 unpacked while block b's tokens run (block32_tile): its levels (or codes), what
// the operand form needs beside them, d_w · d_x of the tile's tokens and the min term's factor,
// stored for loads.
struct Block32Stage {
  __m256i q;
  __m256i wabs;  // kSignOntoX: |q|
  alignas(32) float dd[8];
  __m256 min_dx;  // m · d_x per token (Q4_1 / Q5_1)
};

template <class W>
inline void stage_block(const std::uint8_t* w, const float* xd, Block32Stage& s) {
  const auto u = W::unpack(w);
  s.q = u.q;
  if constexpr (block32_operand<W>() == Block32Operand::kSignOntoX) s.wabs = _mm256_sign_epi8(u.q, u.q);
  // d_w · d_x of the tile's tokens in one multiply, then broadcast from memory per token. A
  // narrower tile reads the next tile's scales (or the buffer's slack) into its unused lanes.
  const __m256 dx = _mm256_loadu_ps(xd);
  _mm256_store_ps(s.dd, _mm256_mul_ps(u.d, dx));
  if constexpr (W::kHasMin) s.min_dx = _mm256_mul_ps(_mm256_set1_ps(u.m), dx);
}

// One weight row r × TT tokens from t0 over all blocks. W::unpack(block) gives the block's
// levels (signed, or Q4_1 / Q5_1's unsigned codes), its scale d in every lane and, where
// W::kHasMin, its min m; block32_operand says how they meet x. Every output is the contract's
// sum (kernels/q8_matmul.h); the min term of Q4_1 / Q5_1 lands in min lane 0 (lanes 1-3 are
// exact zeros), so all TT tokens' min lanes fit one vector.
// Block b + 1 is unpacked (into memory) before block b's tokens: unpacked in line, the levels
// (from a chain of ~10 dependent ops, then spilled: 8 accumulators and the unpacking's
// constants fill the 16 registers) held back every token's first op, and the scheduler filled
// with waiting ops (the loop in L1, Q5_0: 33 cycles a block, 24 without the spill).
template <class W, int TT>
[[gnu::noinline]] void block32_tile(const Q8MatmulArgs& a, const PackedTokens& x, std::int64_t r, std::int64_t t0) {
  constexpr Block32Operand kOperand = block32_operand<W>();
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
    const __m256i q = cur.q;
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const __m256i xt = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq + 32 * t));
      __m256i s;
      if constexpr (kOperand == Block32Operand::kSignOntoX)
        s = _mm256_madd_epi16(_mm256_maddubs_epi16(cur.wabs, _mm256_sign_epi8(xt, q)), ones);
      else
        s = _mm256_madd_epi16(_mm256_maddubs_epi16(q, xt), ones);
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
  for_each_packed_tile(a, W::kHasMin ? PackedSums::kBlock32 : PackedSums::kNone, false, PackedOrder::kPlain,
                       [&](auto tt, const PackedTokens& x, std::int64_t r, std::int64_t t) {
                         block32_tile<W, decltype(tt)::value>(a, x, r, t);
                       });
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
