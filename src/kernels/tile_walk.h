// tile_walk.h — the order in which every ISA's integer matmul kernels visit (row, token tile)
// pairs, and data they share. Included only by ISA-specific translation units: everything here
// has internal linkage, so each of them compiles its own copy with its own target flags (no
// inline code compiled for one ISA can be merged into another's, the hazard the symbol check
// in tests/kernels guards against).
#pragma once

#include <array>
#include <cstdint>
#include <type_traits>

#include "kernels/q8_matmul_args.h"

namespace whale {
namespace {

// At most one tile of the largest multiple of 8 tokens up to W that fits.
template <int W, class Tile>
inline void multiple_of_8_tile(std::int64_t& t, std::int64_t t1, Tile& tile) {
  if constexpr (W >= 8) {
    if (t + W <= t1) {
      tile(std::integral_constant<int, W>{}, t);
      t += W;
    } else {
      multiple_of_8_tile<W - 8>(t, t1, tile);
    }
  }
}

// The tokens [t0, t1) of a chunk in tiles: kWide at a time, then what is left as one tile of
// its largest multiple of 8, then at most one of 4, one of 2, and 1. A tile pays a weight
// block's unpacking once for all its tokens, and a MoE expert's share of a prompt is seldom a
// multiple of kWide: 48 tokens run as one tile of 48 (before, 32 + 16; before that, 32 + 4 × 4,
// whose 4-token tiles were ~8 % of the V2-Lite shape's prefill), and the V3 shape's experts get
// ~4 tokens of a 128-token prompt, whose leftovers ran as 1-token tiles (19 % of its prefill
// samples; with the 2-token tile pp128 121-123 → 127-132 tok/s, alternated).
// Calls tile(std::integral_constant<int, TT>{}, first token).
template <int kWide, class Tile>
inline void for_each_token_tile(std::int64_t t0, std::int64_t t1, Tile&& tile) {
  std::int64_t t = t0;
  for (; t + kWide <= t1; t += kWide) tile(std::integral_constant<int, kWide>{}, t);
  multiple_of_8_tile<(kWide - 1) / 8 * 8>(t, t1, tile);
  if constexpr (kWide > 4)
    if (t + 4 <= t1) {
      tile(std::integral_constant<int, 4>{}, t);
      t += 4;
    }
  if constexpr (kWide >= 4)
    if (t + 2 <= t1) {
      tile(std::integral_constant<int, 2>{}, t);
      t += 2;
    }
  for (; t < t1; ++t) tile(std::integral_constant<int, 1>{}, t);
}

// Tokens per chunk: the chunk's quantized activations stay in L2 while the weight rows stream
// past.
inline std::int64_t token_chunk(const Q8MatmulArgs& a) { return a.cols >= 4096 ? 32 : 64; }

// Weight bytes of the rows a token tile visits before the next token tile: the tile's
// activations (a few KiB) stay in L1 while these rows come from L2. Walking every row of the
// chunk per token tile instead read each tile's activations from L2 for every row, 8 bytes of
// activations a weight byte for Q4_K, the limit of the 1-row AVX2 tiles.
constexpr std::int64_t kRowGroupBytes = 32 * 1024;

// Tokens in chunks (token_chunk); within a chunk, groups of rows (kRowGroupBytes); within a
// group, each token tile (kWide, then 4, then 1: for_each_token_tile) over the group's rows
// one at a time (several concurrent row streams decode slower: 2.4-3.3 against 7.5 tok/s on
// the 1.5B Q8_0 model; decode's single token visits the rows in order).
// Calls tile(std::integral_constant<int, TT>{}, row, first token). Any walk gives the same bits
// (the contract in kernels/q8_matmul.h). (The AVX2 32-element block types decode rows in
// pairs instead: x86_avx2/legacy_matmul.cpp says why.)
// chunk(t0, t1) runs first for each token chunk (the AVX2 32-element kernels repack its
// activations there).
template <int kWide, class Tile, class Chunk>
inline void for_each_tile(const Q8MatmulArgs& a, Tile&& tile, Chunk&& chunk) {
  const std::int64_t chunk_tokens = token_chunk(a);
  const std::int64_t group = a.w_row_bytes >= kRowGroupBytes ? 1 : kRowGroupBytes / a.w_row_bytes;
  for (std::int64_t t0 = 0; t0 < a.n_tokens; t0 += chunk_tokens) {
    const std::int64_t t1 = t0 + chunk_tokens < a.n_tokens ? t0 + chunk_tokens : a.n_tokens;
    chunk(t0, t1);
    for (std::int64_t g = a.row_begin; g < a.row_end; g += group) {
      const std::int64_t g1 = g + group < a.row_end ? g + group : a.row_end;
      for_each_token_tile<kWide>(t0, t1, [&](auto tt, std::int64_t t) {
        for (std::int64_t r = g; r < g1; ++r) tile(tt, r, t);
      });
    }
  }
}

template <int kWide, class Tile>
inline void for_each_tile(const Q8MatmulArgs& a, Tile&& tile) {
  for_each_tile<kWide>(a, tile, [](std::int64_t, std::int64_t) {});
}

// for_each_tile's walk with weight rows in groups of kRows: tile(TT, first row, first token)
// for each group from a.row_begin (the last group may reach past a.row_end; the 512-bit kernels
// hold two or four rows per register and compute the missing rows as copies they do not
// store). chunk(t0, t1) runs first for each token chunk (those kernels repack its activations
// there).
template <int kWide, int kRows, class Tile, class Chunk>
inline void for_each_row_group_tile(const Q8MatmulArgs& a, Tile&& tile, Chunk&& chunk) {
  const std::int64_t chunk_tokens = token_chunk(a);
  for (std::int64_t t0 = 0; t0 < a.n_tokens; t0 += chunk_tokens) {
    const std::int64_t t1 = t0 + chunk_tokens < a.n_tokens ? t0 + chunk_tokens : a.n_tokens;
    chunk(t0, t1);
    for (std::int64_t r = a.row_begin; r < a.row_end; r += kRows)
      for_each_token_tile<kWide>(t0, t1, [&](auto tt, std::int64_t t) { tile(tt, r, t); });
  }
}

// IQ2_XXS's 7 stored sign bits of a group -> 8 bytes, 0xFF where the coordinate is negative
// (the 8th sign keeps the count of negatives even). Built at compile time: a table load per
// group instead of parity and bit tests in the inner loop.
constexpr std::array<std::uint64_t, 128> kIq2SignMasks = [] {
  std::array<std::uint64_t, 128> m{};
  for (unsigned s = 0; s < 128; ++s) {
    unsigned bits = s, parity = 0;
    for (int j = 0; j < 7; ++j) parity ^= (s >> j) & 1u;
    bits |= parity << 7;
    for (int j = 0; j < 8; ++j)
      if ((bits >> j) & 1u) m[s] |= 0xFFULL << (8 * j);
  }
  return m;
}();

}  // namespace
}  // namespace whale
