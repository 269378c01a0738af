// q8_0_matmul.cpp — AVX2 integer matmul for Q8_0 weights × Q8_0 activations (decode: one row at
// a time, one sequential weight stream per thread; prefill: block32_tile.h's 1 row × 8 tokens
// over repacked activations). Every tile computes each output with the same instruction
// sequence, so tile shapes and thread splits never change a bit (the contract in
// kernels/q8_matmul.h).
#include "kernels/q8_matmul_args.h"
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"
#if defined(WHALE_VNNI)
#include "kernels/x86_avx512_vnni/block32_512.h"  // the VNNI build's prefill
#else
#include "kernels/x86_avx2/block32_tile.h"  // the AVX2 build's prefill
#endif

namespace whale::WHALE_AVX2_NS {
namespace {

constexpr int kBlockBytes = 34;  // f16 d, then 32 int8 quants
// One row per tile (for_each_tile): 2-row prefill tiles were no faster than 1 row.
// R weight rows × TT tokens starting at (r0, t0), over all blocks. maddubs (and vpdpbusd) need one unsigned
// operand, so the weight's sign moves onto x: |w| ≤ 128 fits u8, x · sign(w) is exact because
// x ≠ -128, and each pair sum is ≤ 2 · 128 · 127 = 32512, so the int16 step never saturates.
template <int R, int TT>
void tile(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t t0) {
  const std::int64_t nb = a.cols / 32;
  const std::uint8_t* w[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) w[r] = bytes(a.w) + static_cast<std::size_t>(r0 + r) * a.w_row_bytes;
  const std::int8_t* x[TT];
  const float* xd[TT];
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) {
    x[t] = a.x_qs + (t0 + t) * a.cols;
    xd[t] = a.x_d + (t0 + t) * nb;
  }
  __m256 acc[R][TT];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < nb; ++b) {
    __m256i wq[R], wabs[R];
    __m256 dw[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const std::uint8_t* p = w[r] + b * kBlockBytes;
      prefetch_ahead<kBlockBytes>(p);
      dw[r] = _mm256_set1_ps(load_f16(p));
      wq[r] = load256(p + 2);
      wabs[r] = _mm256_sign_epi8(wq[r], wq[r]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[t] + 32 * b));
      const __m256 dx = _mm256_broadcast_ss(xd[t] + b);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256i s = dot_u8s8_add(_mm256_setzero_si256(), wabs[r], _mm256_sign_epi8(xq, wq[r]));
        // d_w · d_x in every lane: the same f32 product as the scalar reference.
        acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw[r], dx), _mm256_cvtepi32_ps(s), acc[r][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) a.y[(t0 + t) * a.y_stride + r0 + r] = hsum_f32(acc[r][t]) + 0.0f;
}

#if !defined(WHALE_VNNI)
// A Q8_0 block for block32_tile: its 32 signed quants and f16 scale.
struct Q8_0Block {
  static constexpr int kBytes = kBlockBytes;
  static constexpr bool kHasMin = false;
  static Block32Levels unpack(const std::uint8_t* p) { return {load256(p + 2), broadcast_f16(p), 0.0f}; }
};
#endif

}  // namespace

void matmul_q8_0(const Q8MatmulArgs& a) {
#if defined(WHALE_VNNI)
  // Decode keeps one weight stream per thread: Q8_0 decode is memory-bound, and the row pairs
  // decoded 2-3 % slower (1.5B Q8_0, alternated: 16.3 / 15.9 against 16.7 / 16.0 tok/s).
  if (a.n_tokens == 1) {
    for_each_tile<kPrefillTokens>(a, [&](auto tt, std::int64_t r, std::int64_t t) { tile<1, decltype(tt)::value>(a, r, t); });
    return;
  }
  block32_matmul_512<Q8_0Pair>(a);
#else
  // Up to 3 tokens (batched decode, an MoE expert's share of a short prefill): one row × 2 then
  // 1 tokens, which the packed walk ran at about one token's speed (hot, one core, 2048x7168,
  // GOP/s for 2 / 3 tokens: 44 / 34.5 against 31 for one).
  if (a.n_tokens <= kDecodeTileTokens) {
    for (std::int64_t r = a.row_begin; r < a.row_end; ++r)
      for_each_decode_token_tile(a.n_tokens, [&](auto tt, std::int64_t t) { tile<1, decltype(tt)::value>(a, r, t); });
    return;
  }
  block32_matmul<Q8_0Block>(a);
#endif
}

}  // namespace whale::WHALE_AVX2_NS
