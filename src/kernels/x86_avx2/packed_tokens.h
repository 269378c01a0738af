// packed_tokens.h — a token chunk's quantized activations repacked for the AVX2 prefill tiles
// (block32_tile.h, q4k.cpp, q6k.cpp): a tile's tokens side by side, 32 quants at a time, so that
// a tile reads every token through one pointer and constant offsets. Unpacked, the 8-token
// tiles kept 16-24 per-token pointers that GCC could not hold in registers beside the weights
// and reloaded from the stack every block. Internal linkage, like avx2_util.h; AVX2 build only.
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

// Tokens of the widest AVX2 prefill tile: 8 tokens' int32 lanes with one chunk's weights fill
// the 16 vector registers.
constexpr int kPackedTileTokens = 8;

// What PackedTokens keeps besides quants and scales: nothing; each 32-quant block's sum as an
// f32 (exact; the min term of Q4_1 / Q5_1); or the K-quants' min sums (see min_sums).
enum class PackedSums { kNone, kBlock32, kKQuantMins };

// How a tile's 32-quant groups are laid out: as they are, or each pair of groups (2k, 2k + 1)
// with its 16-bit words exchanged so that one vpmaddubsw covers words of both (see
// pair_words): the K-quant tiles then add the two products in int16 and take one vpmaddwd for
// two groups, keeping the contract's int32 lanes.
enum class PackedOrder { kPlain, kWordPairs };

// Two vectors u, v (32 quants each, of groups with different scales) rearranged by 16-bit
// words into two: first = words (u0, v1, u2, v3, ...), second = (u1, v0, u3, v2, ...). Int32 lane m
// of either holds only elements 4m..4m+3 of u and v, so a product of both, added in int16 and
// multiplied by the (scale u, scale v) word pair in one vpmaddwd, gives exactly the lanes of
// the contract (kernels/q8_matmul.h). Weights and activations go through the same exchange.
inline void pair_words(__m256i u, __m256i v, __m256i& first, __m256i& second) {
  first = _mm256_blend_epi16(u, v, 0xAA);
  second = _mm256_blend_epi16(_mm256_srli_epi32(u, 16), _mm256_slli_epi32(v, 16), 0xAA);
}

// One token chunk in the tiles for_each_token_tile<kPackedTileTokens> makes. For the tile of TT
// tokens starting at t:
//   quants(t) + 32 (g·TT + j)   the 32 quants of token j in 32-quant group g (kWordPairs:
//                               groups 2k and 2k + 1 through pair_words),
//   scales(t)[s·TT + j]         token j's scale of activation block s (32 or 256 quants),
//   sums(t)[g·TT + j]           (kBlock32) the sum of those 32 quants,
//   min_sums(t) + 2 ((4B + k)·TT + j)   (kKQuantMins) the sums of 32-quant groups 2k and 2k + 1
//                               of 256-quant block B (x_sums32), two int16 side by side, so one
//                               vpmaddwd gives min lane k of 8 tokens.
// Scales, sums and min sums have a vector of slack at the end: a tile narrower than
// kPackedTileTokens loads full vectors and ignores the extra lanes.
class PackedTokens {
 public:
  PackedTokens() = default;
  PackedTokens(const PackedTokens&) = delete;
  PackedTokens& operator=(const PackedTokens&) = delete;
  ~PackedTokens() { std::free(quants_); }

  // biased: each quant stored as x + 128 (x ^ 0x80), unsigned, for tiles whose weights are the
  // signed operand of vpmaddubsw.
  void pack(const Q8MatmulArgs& a, std::int64_t t0, std::int64_t t1, PackedSums sums, bool biased, PackedOrder order) {
    const __m256i bias = _mm256_set1_epi8(static_cast<char>(biased ? 0x80 : 0));
    t0_ = t0;
    groups_ = a.cols / 32;
    n_scales_ = a.cols / a.block_elems;
    reserve(t1 - t0);
    for_each_token_tile<kPackedTileTokens>(t0, t1, [&](auto tt, std::int64_t t) {
      constexpr int TT = decltype(tt)::value;
      std::int8_t* q = quants_ + (t - t0_) * groups_ * 32;
      const auto load = [&](int j, std::int64_t g) {
        return _mm256_xor_si256(bias, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.x_qs + (t + j) * a.cols + 32 * g)));
      };
      const auto store = [&](int j, std::int64_t g, __m256i v) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(q + 32 * (g * TT + j)), v);
      };
      for (std::int64_t g = 0; g < groups_; g += order == PackedOrder::kWordPairs ? 2 : 1)
#pragma GCC unroll 8
        for (int j = 0; j < TT; ++j) {
          if (order == PackedOrder::kWordPairs) {
            __m256i first, second;
            pair_words(load(j, g), load(j, g + 1), first, second);
            store(j, g, first);
            store(j, g + 1, second);
          } else {
            store(j, g, load(j, g));
          }
        }
      float* d = scales_ + (t - t0_) * n_scales_;
      for (std::int64_t s = 0; s < n_scales_; ++s)
        for (int j = 0; j < TT; ++j) d[s * TT + j] = a.x_d[(t + j) * n_scales_ + s];
      if (sums == PackedSums::kBlock32) {
        float* out = sums_ + (t - t0_) * groups_;
        for (std::int64_t g = 0; g < groups_; ++g)
          for (int j = 0; j < TT; ++j) {
            const std::int16_t* xs16 = a.x_sums16 + (t + j) * (a.cols / 16) + 2 * g;
            out[g * TT + j] = static_cast<float>(xs16[0] + xs16[1]);
          }
      } else if (sums == PackedSums::kKQuantMins) {
        std::int16_t* out = reinterpret_cast<std::int16_t*>(sums_) + (t - t0_) * groups_;
        for (std::int64_t g = 0; g < groups_; g += 2)  // groups 2k, 2k + 1 of each block
          for (int j = 0; j < TT; ++j, out += 2) {
            const std::int16_t* xs32 = a.x_sums32 + (t + j) * groups_ + g;
            out[0] = xs32[0];
            out[1] = xs32[1];
          }
      }
    });
  }

  const std::int8_t* quants(std::int64_t t) const { return quants_ + (t - t0_) * groups_ * 32; }
  const float* scales(std::int64_t t) const { return scales_ + (t - t0_) * n_scales_; }
  const float* sums(std::int64_t t) const { return sums_ + (t - t0_) * groups_; }
  const std::int16_t* min_sums(std::int64_t t) const {
    return reinterpret_cast<const std::int16_t*>(sums_) + (t - t0_) * groups_;
  }

 private:
  // Grows (never shrinks) to `tokens` tokens: their quants, a scale a 32-quant group (more than
  // any block size needs) and a sum (or an int16 pair of min sums) a group, each with slack.
  void reserve(std::int64_t tokens) {
    const std::size_t groups = static_cast<std::size_t>(tokens * groups_);
    if (groups <= capacity_) return;
    std::free(quants_);
    const std::size_t floats = groups + kPackedTileTokens;
    const std::size_t bytes = (groups * 32 + 2 * floats * sizeof(float) + 63) / 64 * 64;
    quants_ = static_cast<std::int8_t*>(std::aligned_alloc(64, bytes));
    if (quants_ == nullptr) throw std::bad_alloc();
    scales_ = reinterpret_cast<float*>(quants_ + groups * 32);
    sums_ = scales_ + floats;
    std::fill(scales_, scales_ + 2 * floats, 0.0f);  // the slack holds finite values
    capacity_ = groups;
  }

  std::int8_t* quants_ = nullptr;
  float* scales_ = nullptr;
  float* sums_ = nullptr;
  std::size_t capacity_ = 0;
  std::int64_t t0_ = 0, groups_ = 0, n_scales_ = 0;
};

// One buffer per thread for the kernels of a translation unit (a thread_local in an
// internal-linkage function: each TU has its own, which is fine: a thread runs one kernel at a
// time).
inline PackedTokens& thread_packed_tokens() {
  thread_local PackedTokens packed;
  return packed;
}

// for_each_tile's walk over tiles of up to kPackedTileTokens tokens, each token chunk packed
// first: tile(std::integral_constant<int, TT>{}, packed, row, first token).
// The tiles are [[gnu::noinline]]: inlined here (GCC's choice changed with unrelated edits to
// pack), Q6_K's 8-token tile ran at half speed (52 against 100 GOP/s, hot, one core).
template <class Tile>
void for_each_packed_tile(const Q8MatmulArgs& a, PackedSums sums, bool biased, PackedOrder order, Tile&& tile) {
  PackedTokens& packed = thread_packed_tokens();
  for_each_tile<kPackedTileTokens>(
      a, [&](auto tt, std::int64_t r, std::int64_t t) { tile(tt, packed, r, t); },
      [&](std::int64_t t0, std::int64_t t1) { packed.pack(a, t0, t1, sums, biased, order); });
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
