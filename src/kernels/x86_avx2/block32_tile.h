// block32_tile.h — the AVX2 prefill of the 32-element block types (Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1, IQ4_NL) × Q8_0 activations: one weight row × up to 8 tokens of a repacked token chunk
// (packed_tokens.h). Internal linkage, like avx2_util.h; included by the AVX2 build only (the
// VNNI build runs ../x86_avx512_vnni/block32_512.h for Q8_0 and nibble32_512.h for the rest).
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

// Q8_0 (lanes by position): one weight row r × TT tokens from t0 over all blocks. W::unpack(block)
// gives the block's signed levels and its scale d in every lane; every output is the
// contract's sum (kernels/q8_matmul.h). The nibble types run block32_nibble_tile below.
// Block b + 1 is unpacked (into memory) before block b's tokens: unpacked in line, the levels
// (from a chain of ~10 dependent ops, then spilled: 8 accumulators and the unpacking's
// constants fill the 16 registers) held back every token's first op, and the scheduler filled
// with waiting ops (the loop in L1, Q5_0: 33 cycles a block, 24 without the spill).
template <class W, int TT>
[[gnu::noinline]] void block32_tile(const Q8MatmulArgs& a, const PackedTokens& x, std::int64_t r, std::int64_t t0) {
  static_assert(block32_operand<W>() == Block32Operand::kSignOntoX && !W::kHasMin, "Q8_0 only");
  const std::int64_t nb = a.cols / 32;
  const std::uint8_t* w = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  const std::int8_t* xq = x.quants(t0);
  const float* xd = x.scales(t0);
  __m256 acc[TT];
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  Block32Stage ring[2];
  stage_block<W>(w, xd, ring[0]);
  for (std::int64_t b = 0; b < nb; ++b, w += W::kBytes, xq += 32 * TT, xd += TT) {
    prefetch_ahead<W::kBytes>(w);
    if (b + 1 < nb) stage_block<W>(w + W::kBytes, xd + TT, ring[(b + 1) & 1]);
    asm("" : "+m"(ring));  // the stage goes through memory, not registers
    const Block32Stage& cur = ring[b & 1];
    const __m256i q = cur.q;
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const __m256i xt = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq + 32 * t));
      const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(cur.wabs, _mm256_sign_epi8(xt, q)), ones);
      acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(cur.dd + t), _mm256_cvtepi32_ps(s), acc[t]);
    }
  }
  // No mins: the contract's empty min sum adds +0, which changes no sum (none is −0).
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) a.y[(t0 + t) * a.y_stride + r] = hsum_f32(acc[t]);
}

// Whether W follows the contract's nibble-byte lanes (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL: element
// i in lane (i mod 16) / 4, kernels/q8_matmul.h) rather than lanes by position (Q8_0).
template <class W>
constexpr bool lanes_by_nibble_byte() {
  if constexpr (requires { W::kLanesByNibbleByte; }) return W::kLanesByNibbleByte;
  return false;
}

// The 16 bytes at p in both 128-bit halves (a load, no shuffle uop).
inline __m256i both_halves(const void* p) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(static_cast<const __m128i*>(p)));
}

// block32_tile for the nibble-byte lanes, two tokens a register: their lanes take only 4 of a
// vector's 8 int32, so the tokens of a pair share one (packed by PackedOrder::kTokenPairHalves:
// [x_2p[0..15] | x_2p+1[0..15]] and [x_2p[16..31] | x_2p+1[16..31]]) against the staged levels'
// halves loaded into both halves: byte j of each meets lane j / 4 of its token's half, and one
// vpmaddwd, convert and FMA serve two tokens. Where the levels are small (kHasCodes types: codes
// ≤ 31 or |level| ≤ 16, pairs ≤ 2 · 31 · 128) the two halves' int16 pairs add before the one
// vpmaddwd; IQ4_NL's (|q| ≤ 127, pairs up to 2 · 127 · 128) could overflow int16, so each half
// takes its own. A 1-token tile puts its token in both halves and keeps the low one.
template <class W, int TT>
[[gnu::noinline]] void block32_nibble_tile(const Q8MatmulArgs& a, const PackedTokens& x, std::int64_t r,
                                          std::int64_t t0) {
  constexpr Block32Operand kOperand = block32_operand<W>();
  constexpr int P = (TT + 1) / 2;  // token pairs
  const std::int64_t nb = a.cols / 32;
  const std::uint8_t* w = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  const std::int8_t* xq = x.quants(t0);
  const float* xd = x.scales(t0);
  const float* xs = x.sums(t0);
  __m256 acc[P];
#pragma GCC unroll 4
  for (int p = 0; p < P; ++p) acc[p] = _mm256_setzero_ps();
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
    const auto* q = reinterpret_cast<const std::uint8_t*>(&cur.q);
    const __m256i qlo = both_halves(q), qhi = both_halves(q + 16);
    __m256i wlo, whi;
    if constexpr (kOperand == Block32Operand::kSignOntoX) {
      const auto* wabs = reinterpret_cast<const std::uint8_t*>(&cur.wabs);
      wlo = both_halves(wabs);
      whi = both_halves(wabs + 16);
    }
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      __m256i xlo, xhi;
      __m256 dd;
      if constexpr (TT == 1) {
        xlo = both_halves(xq);
        xhi = both_halves(xq + 16);
        dd = _mm256_broadcast_ss(cur.dd);
      } else {
        xlo = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq + 64 * p));
        xhi = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq + 64 * p + 32));
        dd = _mm256_blend_ps(_mm256_broadcast_ss(cur.dd + 2 * p), _mm256_broadcast_ss(cur.dd + 2 * p + 1), 0xF0);
      }
      __m256i plo, phi;
      if constexpr (kOperand == Block32Operand::kSignOntoX) {
        plo = _mm256_maddubs_epi16(wlo, _mm256_sign_epi8(xlo, qlo));
        phi = _mm256_maddubs_epi16(whi, _mm256_sign_epi8(xhi, qhi));
      } else {
        plo = _mm256_maddubs_epi16(qlo, xlo);
        phi = _mm256_maddubs_epi16(qhi, xhi);
      }
      __m256i s;
      if constexpr (kHasCodes<W>)
        s = _mm256_madd_epi16(_mm256_add_epi16(plo, phi), ones);
      else
        s = _mm256_add_epi32(_mm256_madd_epi16(plo, ones), _mm256_madd_epi16(phi, ones));
      acc[p] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(s), acc[p]);
    }
  }
  alignas(32) float m[8];
  _mm256_store_ps(m, mins);
  // Token t's contract sum: (acc0 + acc2) + (acc1 + acc3) of its half, plus its min lane 0's
  // ((m0 + 0) + (0 + 0)).
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) {
    const __m128 half = t % 2 == 0 ? _mm256_castps256_ps128(acc[t / 2]) : _mm256_extractf128_ps(acc[t / 2], 1);
    a.y[(t0 + t) * a.y_stride + r] = hsum_f32(half) + ((m[t] + 0.0f) + (0.0f + 0.0f));
  }
}

// The prefill of a 32-element type W.
template <class W>
void block32_matmul(const Q8MatmulArgs& a) {
  constexpr bool kNibbleByte = lanes_by_nibble_byte<W>();
  for_each_packed_tile(a, W::kHasMin ? PackedSums::kBlock32 : PackedSums::kNone, false,
                       kNibbleByte ? PackedOrder::kTokenPairHalves : PackedOrder::kPlain,
                       [&](auto tt, const PackedTokens& x, std::int64_t r, std::int64_t t) {
                         if constexpr (kNibbleByte)
                           block32_nibble_tile<W, decltype(tt)::value>(a, x, r, t);
                         else
                           block32_tile<W, decltype(tt)::value>(a, x, r, t);
                       });
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
