// block32_tile.h — the AVX2 prefill of the 32-element block types (Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1, IQ4_NL) × Q8_0 activations: a token chunk's activations are first repacked so that a
// tile's tokens sit side by side block by block, then one weight row × 8 tokens at a time.
// Internal linkage, like avx2_util.h; included by the AVX2 build only (the VNNI build runs
// ../x86_avx512_vnni/block32_512.h).
//
// Why the repacking: with each token's quants in its own row the tile kept 8 pointers (quants
// and scales of 4 tokens) that GCC could not hold in registers beside the weights, and the
// 1-row × 4-token Q8_0 tile spent a third of its instructions reloading them (50 GOP/s on one
// Zen 3 core, cache-hot). Packed, a tile reads its tokens' quants and scales through two
// pointers.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "kernels/q8_matmul_args.h"
#include "kernels/tile_walk.h"
#include "kernels/x86_avx2/avx2_util.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Tokens per prefill tile: 8 accumulators, the row's levels, |levels| and scale, and the
// temporaries fill the 16 vector registers.
constexpr int kBlock32Tokens = 8;

// One token chunk's activations in the tiles for_each_token_tile<kBlock32Tokens> makes: for the
// tile starting at token t, the quants of its token j and block b at quants(t) + 32 (b·TT + j),
// the block's scale at scales(t)[b·TT + j] and the sum of its 32 quants (as f32, exact) at
// sums(t)[b·TT + j].
class PackedTokens32 {
 public:
  PackedTokens32() = default;
  PackedTokens32(const PackedTokens32&) = delete;
  PackedTokens32& operator=(const PackedTokens32&) = delete;
  ~PackedTokens32() { std::free(quants_); }

  void pack(const Q8MatmulArgs& a, std::int64_t t0, std::int64_t t1, bool with_sums) {
    t0_ = t0;
    nb_ = a.cols / 32;
    reserve(static_cast<std::size_t>((t1 - t0) * nb_));
    for_each_token_tile<kBlock32Tokens>(t0, t1, [&](auto tt, std::int64_t t) {
      constexpr int TT = decltype(tt)::value;
      std::int8_t* q = quants_ + (t - t0_) * nb_ * 32;
      float* d = scales_ + (t - t0_) * nb_;
      float* s = sums_ + (t - t0_) * nb_;
      for (std::int64_t b = 0; b < nb_; ++b)
#pragma GCC unroll 8
        for (int j = 0; j < TT; ++j, q += 32) {
          const std::int64_t token = t + j;
          _mm256_store_si256(reinterpret_cast<__m256i*>(q),
                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.x_qs + token * a.cols + 32 * b)));
          d[b * TT + j] = a.x_d[token * nb_ + b];
          if (with_sums) {
            const std::int16_t* xs16 = a.x_sums16 + token * (a.cols / 16) + 2 * b;
            s[b * TT + j] = static_cast<float>(xs16[0] + xs16[1]);
          }
        }
    });
  }

  const std::int8_t* quants(std::int64_t t) const { return quants_ + (t - t0_) * nb_ * 32; }
  const float* scales(std::int64_t t) const { return scales_ + (t - t0_) * nb_; }
  const float* sums(std::int64_t t) const { return sums_ + (t - t0_) * nb_; }

 private:
  // Grows (never shrinks) to `blocks` blocks of 32 quants, a scale and a sum each.
  void reserve(std::size_t blocks) {
    if (blocks <= capacity_) return;
    std::free(quants_);
    // The scales and sums each get kBlock32Tokens floats of slack: a tile narrower than
    // kBlock32Tokens loads a full vector of them.
    const std::size_t floats = blocks + kBlock32Tokens;
    const std::size_t bytes = (blocks * 32 + 2 * floats * sizeof(float) + 63) / 64 * 64;
    quants_ = static_cast<std::int8_t*>(std::aligned_alloc(64, bytes));
    if (quants_ == nullptr) throw std::bad_alloc();
    scales_ = reinterpret_cast<float*>(quants_ + blocks * 32);
    sums_ = scales_ + floats;
    std::fill(scales_, scales_ + 2 * floats, 0.0f);
    capacity_ = blocks;
  }

  std::int8_t* quants_ = nullptr;
  float* scales_ = nullptr;
  float* sums_ = nullptr;
  std::size_t capacity_ = 0;
  std::int64_t t0_ = 0, nb_ = 0;
};

// One buffer per thread for the 32-element kernels of a translation unit (a thread_local in an
// internal-linkage function: each TU has its own, which is fine: a thread runs one kernel at a
// time).
inline PackedTokens32& thread_packed_tokens32() {
  thread_local PackedTokens32 packed;
  return packed;
}

// One weight row r × TT tokens from t0 over all blocks. W::unpack(block) gives the block's
// signed levels (|q| ≤ 128), its scale d in every lane and, where W::kHasMin, its min m. The
// level's sign moves onto x (exact: x ≠ -128), so vpmaddubsw's pairs are ≤ 2 · 128 · 127.
// Every output is the contract's sum (kernels/q8_matmul.h); the min term of Q4_1 / Q5_1 lands
// in min lane 0 (lanes 1-3 are exact zeros), so all TT tokens' min lanes fit one vector.
template <class W, int TT>
void block32_tile(const Q8MatmulArgs& a, const PackedTokens32& x, std::int64_t r, std::int64_t t0) {
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
  for (std::int64_t b = 0; b < nb; ++b, w += W::kBytes, xq += 32 * TT, xd += TT, xs += TT) {
    prefetch_ahead<W::kBytes>(w);
    const auto u = W::unpack(w);
    const __m256i wabs = _mm256_sign_epi8(u.q, u.q);
    // d_w · d_x of the tile's tokens in one multiply, then broadcast from memory per token.
    // A narrower tile reads the next tile's scales (or the buffer's slack) into its unused
    // lanes.
    const __m256 dx = _mm256_loadu_ps(xd);
    alignas(32) float dd[8];
    _mm256_store_ps(dd, _mm256_mul_ps(u.d, dx));
    if constexpr (W::kHasMin) mins = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(u.m), dx), _mm256_loadu_ps(xs), mins);
    asm("" : "+m"(dd));  // keep the broadcasts as loads (the forwarded form took shuffles)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const __m256i xt = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq + 32 * t));
      const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, _mm256_sign_epi8(xt, u.q)), ones);
      acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(dd + t), _mm256_cvtepi32_ps(s), acc[t]);
    }
  }
  alignas(32) float m[8];
  _mm256_store_ps(m, mins);
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t)
    a.y[(t0 + t) * a.y_stride + r] = hsum_f32(acc[t]) + ((m[t] + 0.0f) + (0.0f + 0.0f));
}

// The prefill walk of a 32-element type W: each token chunk packed, then row × token tiles
// (for_each_tile's order).
template <class W>
void block32_matmul(const Q8MatmulArgs& a) {
  PackedTokens32& packed = thread_packed_tokens32();
  for_each_tile<kBlock32Tokens>(
      a, [&](auto tt, std::int64_t r, std::int64_t t) { block32_tile<W, decltype(tt)::value>(a, packed, r, t); },
      [&](std::int64_t t0, std::int64_t t1) { packed.pack(a, t0, t1, W::kHasMin); });
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
