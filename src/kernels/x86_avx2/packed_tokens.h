// packed_tokens.h — a token chunk's quantized activations repacked for the AVX2 prefill tiles
// (block32_tile.h, q4k.cpp, q6k.cpp): a tile's tokens side by side, 32 quants at a time, so that
// a tile reads every token through one pointer and constant offsets. Unpacked, the 8-token
// tiles kept 16-24 per-token pointers that GCC could not hold in registers beside the weights
// and reloaded from the stack every block. Internal linkage, like avx2_util.h; AVX2 build only.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/q8_matmul_args.h"
#include "kernels/tile_walk.h"
#include "kernels/x86_avx2/avx2_util.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Tokens of the widest AVX2 prefill tile that keeps its tokens' int32 lanes in registers
// (block32_tile.h, q6k.cpp): 8 tokens' lanes with one chunk's weights fill the 16 vector
// registers. (The Q4_K / Q5_K tiles run their tokens one at a time: any width, q4k.cpp.)
constexpr int kPackedTileTokens = 8;

// What PackedTokens keeps besides quants and scales: nothing; each 32-quant block's sum as an
// f32 (exact; the min term of Q4_1 / Q5_1); or the K-quants' min sums (see min_sums).
enum class PackedSums { kNone, kBlock32, kKQuantMins };

// How a tile's 32-quant groups are laid out: as they are, or by 256-quant blocks, each token's
// block gathered by 8-byte pieces (gather_pieces) the way the Q4_K / Q5_K tiles gather their
// weights: groups 2c (c = 0..3, quants 64c..64c+31, the low nibbles' elements of chunk c) give
// its first 4 vectors, groups 2c + 1 (quants 64c+32.., the high nibbles') the next 4. Or by
// halves of token pairs (kTokenPairHalves, block32_tile.h's nibble types): in each group, tokens
// 2p and 2p + 1 of a tile of TT ≥ 2 hold [x_2p[0..15] | x_2p+1[0..15]] in the vector of token 2p
// and [x_2p[16..31] | x_2p+1[16..31]] in that of 2p + 1 (a 1-token tile as kPlain).
enum class PackedOrder { kPlain, kChunkPieces, kTokenPairHalves };

// The transpose of 8-byte pieces that the Q4_K / Q5_K kernels apply alike to a block's 4
// chunks of weight bytes and to the 4 matching vectors of activations: qword p of every out[j]
// is a piece of r[p] (pieces 0, 0, 2, 2 of r[0..3] in out[0], 2, 2, 0, 0 in out[1], 1, 1, 3, 3
// in out[2], 3, 3, 1, 1 in out[3]; each piece once). Int32 lanes 2p and 2p + 1 of a product
// then sum only chunk p's elements, the contract's lanes of Q4_K and Q5_K (kernels/q8_matmul.h:
// 2 (i / 64) + (i / 4) mod 2), and the four products add before any scale. Eight operations
// (vpunpck{l,h}qdq, vpblendd, vperm2i128); a version with three shuffles but eight vpblendd
// (eleven operations) ran decode 5 % slower (Zen 4, cache-hot, one core).
inline void gather_pieces(const __m256i r[4], __m256i out[4]) {
  const __m256i lo01 = _mm256_unpacklo_epi64(r[0], r[1]), lo23 = _mm256_unpacklo_epi64(r[2], r[3]);
  const __m256i hi01 = _mm256_unpackhi_epi64(r[0], r[1]), hi23 = _mm256_unpackhi_epi64(r[2], r[3]);
  out[0] = _mm256_blend_epi32(lo01, lo23, 0xF0);
  out[1] = _mm256_permute2x128_si256(lo01, lo23, 0x21);
  out[2] = _mm256_blend_epi32(hi01, hi23, 0xF0);
  out[3] = _mm256_permute2x128_si256(hi01, hi23, 0x21);
}

// A 256-quant block in PackedOrder::kChunkPieces' order: group(g) gives its 32-quant group g
// (0..7), and store(k, v) takes vector k = 4h + p, out[p] of gather_pieces over groups h, h + 2,
// h + 4, h + 6 (h = 0: the quants the low nibbles meet, 1: the high ones'). Prefill packs each
// token's blocks with it, decode its token (q4k.cpp decode_pieces).
template <class Group, class Store>
inline void gather_block_pieces(Group&& group, Store&& store) {
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    const __m256i r[4] = {group(h), group(2 + h), group(4 + h), group(6 + h)};
    __m256i out[4];
    gather_pieces(r, out);
#pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) store(4 * h + p, out[p]);
  }
}

// The tiles of PackedOrder::kChunkPieces, whose kernels take any number of tokens: [t0, t1) in
// runs of kTile, the last one shorter. Calls run(tokens, first token).
template <int kTile, class Run>
void for_each_token_run(std::int64_t t0, std::int64_t t1, Run&& run) {
  for (std::int64_t t = t0; t < t1; t += kTile) run(static_cast<int>(t1 - t < kTile ? t1 - t : kTile), t);
}

// One token chunk in the tiles for_each_token_tile<kTile> makes (kTile: pack's argument,
// kPackedTileTokens unless a kernel's tiles are wider; kChunkPieces: for_each_token_run<kTile>).
// For the tile of TT tokens starting at t:
//   quants(t) + 32 (g·TT + j)   the 32 quants of token j in 32-quant group g; kChunkPieces:
//                               quants(t) + 256 (B·TT + j) the 256 of token j in block B,
//                               gathered (see PackedOrder),
//   scales(t)[s·TT + j]         token j's scale of activation block s (32 or 256 quants),
//   sums(t)[g·TT + j]           (kBlock32) the sum of those 32 quants,
//   min_sums(t) + 2 ((4B + k)·TT + j)   (kKQuantMins) the sums of 32-quant groups 2k and 2k + 1
//                               of 256-quant block B (x_sums32), two int16 side by side, so one
//                               vpmaddwd gives min lane k of 8 tokens.
// Scales, sums and min sums have a vector of slack at the end: a tile narrower than 8 tokens
// loads full vectors and ignores the extra lanes.
class PackedTokens {
 public:
  // biased: each quant stored as x + 128 (x ^ 0x80), unsigned, for tiles whose weights are the
  // signed operand of vpmaddubsw.
  template <int kTile = kPackedTileTokens>
  void pack(const Q8MatmulArgs& a, std::int64_t t0, std::int64_t t1, PackedSums sums, bool biased, PackedOrder order) {
    const __m256i bias = _mm256_set1_epi8(static_cast<char>(biased ? 0x80 : 0));
    t0_ = t0;
    groups_ = a.cols / 32;
    n_scales_ = a.cols / a.block_elems;
    reserve(t1 - t0);
    // TT: std::integral_constant from for_each_token_tile, or kChunkPieces' runtime width.
    const auto pack_tile = [&](auto tt, std::int64_t t) {
      const int TT = tt;
      std::int8_t* q = quants_ + (t - t0_) * groups_ * 32;
      const auto load = [&](int j, std::int64_t g) {
        return _mm256_xor_si256(bias, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.x_qs + (t + j) * a.cols + 32 * g)));
      };
      const auto store = [&](int j, std::int64_t g, __m256i v) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(q + 32 * (g * TT + j)), v);
      };
      if (order == PackedOrder::kChunkPieces) {
        for (std::int64_t g = 0; g < groups_; g += 8)  // block g / 8: 32 (g·TT + 8j + k) for vector k
          for (int j = 0; j < TT; ++j)
            gather_block_pieces([&](int k) { return load(j, g + k); },
                                [&](int k, __m256i v) {
                                  _mm256_store_si256(reinterpret_cast<__m256i*>(q + 32 * (g * TT + 8 * j + k)), v);
                                });
      } else if (order == PackedOrder::kTokenPairHalves && TT >= 2) {
        for (std::int64_t g = 0; g < groups_; ++g)
#pragma GCC unroll 4
          for (int j = 0; j < TT; j += 2) {
            const __m256i x0 = load(j, g), x1 = load(j + 1, g);
            store(j, g, _mm256_permute2x128_si256(x0, x1, 0x20));
            store(j + 1, g, _mm256_permute2x128_si256(x0, x1, 0x31));
          }
      } else {
        for (std::int64_t g = 0; g < groups_; ++g)
#pragma GCC unroll 8
          for (int j = 0; j < TT; ++j) store(j, g, load(j, g));
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
    };
    if (order == PackedOrder::kChunkPieces)
      for_each_token_run<kTile>(t0, t1, pack_tile);
    else
      for_each_token_tile<kTile>(t0, t1, pack_tile);
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
    const std::size_t floats = groups + kPackedTileTokens;
    quants_ = reinterpret_cast<std::int8_t*>(storage_.get(groups * 32 + 2 * floats * sizeof(float)));
    scales_ = reinterpret_cast<float*>(quants_ + groups * 32);
    sums_ = scales_ + floats;
    std::fill(scales_, scales_ + 2 * floats, 0.0f);  // the slack holds finite values
    capacity_ = groups;
  }

  GrowingBuffer storage_;
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

// The walk of the tiles of kRows rows × up to kTile tokens (PackedOrder::kChunkPieces): each
// token chunk (tile_walk.h token_chunk) packed, then for each run of kRows rows, and at the end
// of [row_begin, row_end) each row left, the chunk's token runs (for_each_token_run<kTile>):
// tile(std::integral_constant<int, R>{}, packed, first row, first token, tokens). The tile
// takes block b of its rows in turn, so that the tokens' quants of a block come from L1 for all
// its rows but the first.
template <int kTile, int kRows, class Tile>
void for_each_packed_rows_tile(const Q8MatmulArgs& a, PackedSums sums, bool biased, Tile&& tile) {
  PackedTokens& packed = thread_packed_tokens();
  const std::int64_t chunk_tokens = token_chunk(a);
  for (std::int64_t t0 = 0; t0 < a.n_tokens; t0 += chunk_tokens) {
    const std::int64_t t1 = t0 + chunk_tokens < a.n_tokens ? t0 + chunk_tokens : a.n_tokens;
    packed.pack<kTile>(a, t0, t1, sums, biased, PackedOrder::kChunkPieces);
    const auto runs = [&](auto rows, std::int64_t r) {
      for_each_token_run<kTile>(t0, t1, [&](int tokens, std::int64_t t) { tile(rows, packed, r, t, tokens); });
    };
    std::int64_t r = a.row_begin;
    for (; r + kRows <= a.row_end; r += kRows) runs(std::integral_constant<int, kRows>{}, r);
    for (; r < a.row_end; ++r) runs(std::integral_constant<int, 1>{}, r);
  }
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
