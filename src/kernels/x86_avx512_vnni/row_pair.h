// row_pair.h — what the 512-bit row-pair kernels (block32_512.h, q4k_512.h, q6k_512.h) share: a
// register holds row A's values in its low half and row B's in its high half. Internal linkage,
// like avx2_util.h; included only by the VNNI build.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/q8_matmul_args.h"
#include "kernels/x86_avx2/avx2_util.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// What a row-pair tile reads: the two rows' first bytes, and each token's quants and block
// scales (blocks of a.block_elems, the weight's block size).
template <int TT>
struct PairTileInputs {
  const std::uint8_t* row_a;
  const std::uint8_t* row_b;
  const std::int8_t* xq[TT];
  const float* xd[TT];

  PairTileInputs(const Q8MatmulArgs& a, std::int64_t ra, std::int64_t rb, std::int64_t t0)
      : row_a(bytes(a.w) + static_cast<std::size_t>(ra) * a.w_row_bytes),
        row_b(bytes(a.w) + static_cast<std::size_t>(rb) * a.w_row_bytes) {
#pragma GCC unroll 16
    for (int t = 0; t < TT; ++t) {
      xq[t] = a.x_qs + (t0 + t) * a.cols;
      xd[t] = a.x_d + (t0 + t) * (a.cols / a.block_elems);
    }
  }
};

// Decode's token (t = 0) as a row-pair kernel reads it: register group(g) stored for each of
// its cols / 32 groups of 32 quants (64 bytes a group), in a buffer of the calling thread,
// rebuilt only when the activations change (DerivedX): once per call for all its rows. A 64-byte
// load then replaces the kernel's own spreading of 32 bytes, which costs a shuffle besides the
// load on Zen 4. One buffer per `group` (each kernel's lambda is its own type).
template <class Group>
const std::uint8_t* derived_groups(const Q8MatmulArgs& a, Group&& group) {
  thread_local DerivedX groups;
  return groups.get(a.x_generation, a.x_qs, static_cast<std::size_t>(a.cols) * 2, [&](std::uint8_t* out) {
    for (std::int64_t g = 0; g < a.cols / 32; ++g) _mm512_store_si512(out + 64 * g, group(g));
  });
}

// Each 32-quant group twice, for the tiles that multiply one group by two rows, one in each half
// of a register (Q6_K): cache-hot, one core, Q6_K decode 2048×7168 0.348–0.351 → 0.336–0.339 ms
// against broadcasting it (vbroadcasti64x4) in the kernel.
class GroupsTwice {
 public:
  explicit GroupsTwice(const Q8MatmulArgs& a)
      : groups_(derived_groups(a, [&](std::int64_t g) {
          return _mm512_broadcast_i64x4(load256(reinterpret_cast<const std::uint8_t*>(a.x_qs) + 32 * g));
        })) {}
  // Group g: quants 32 g .. 32 g + 31 in each half.
  __m512i operator()(std::int64_t g) const { return _mm512_load_si512(groups_ + 64 * g); }

 private:
  const std::uint8_t* groups_;
};

// A decode tile's kPairs row pairs from r0: pair p is rows r0 + 2p and r0 + 2p + 1, the second
// clamped to r_end − 1 (rb == ra: computed twice, its copy dropped by store_pair_token).
template <int kPairs>
struct RowPairs {
  std::int64_t ra[kPairs], rb[kPairs];
  const std::uint8_t* row_a[kPairs];
  const std::uint8_t* row_b[kPairs];

  RowPairs(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t r_end) {
#pragma GCC unroll 8
    for (int p = 0; p < kPairs; ++p) {
      ra[p] = r0 + 2 * p;
      rb[p] = ra[p] + 1 < r_end ? ra[p] + 1 : ra[p];
      row_a[p] = bytes(a.w) + static_cast<std::size_t>(ra[p]) * a.w_row_bytes;
      row_b[p] = bytes(a.w) + static_cast<std::size_t>(rb[p]) * a.w_row_bytes;
    }
  }
};

// Both rows' 32 bytes at offset `off` of their blocks: row A low, row B high. Row B's half is
// a masked 64-byte load from 32 bytes before its bytes, merged into row A's: cache-hot, one
// thread, alternated four times, Q4_K decode 2048×7168 0.311–0.335 → 0.297–0.306 ms and Q6_K
// 0.365–0.375 → 0.354–0.361 against vinserti64x4 (a masked vbroadcasti64x4: no change). The
// masked-off half is never read (AVX-512 suppresses faults there), so the address may lie
// before the matrix; it is formed as an integer, not by pointer arithmetic.
inline __m512i load_pair(const std::uint8_t* wa, const std::uint8_t* wb, int off) {
  const auto b_minus_32 = reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(wb + off) - 32);
  return _mm512_mask_loadu_epi64(_mm512_castsi256_si512(load256(wa + off)), 0xF0, b_minus_32);
}

// The f16 scales at wa and wb as [dA ×8 | dB ×8] in f32 (exact).
// Both halves come from one 32-bit move, a 4-lane conversion and a permute (two word
// broadcasts, an insert and a 16-lane conversion took twice the vector uops, which decode pays
// per block).
inline __m512 broadcast_f16_pair(const std::uint8_t* wa, const std::uint8_t* wb) {
  std::uint16_t ha, hb;
  std::memcpy(&ha, wa, 2);
  std::memcpy(&hb, wb, 2);
  const __m128 d = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(ha | static_cast<std::uint32_t>(hb) << 16)));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                               _mm512_castps128_ps512(d));
}

// Row ra's and rb's outputs of token t: acc_a and acc_b each row's 8 lanes, mins_a and mins_b
// its 4 min lanes; the contract's final sums (rb == ra: the second copy is dropped).
inline void store_pair_token(const Q8MatmulArgs& a, std::int64_t t, std::int64_t ra, std::int64_t rb, __m256 acc_a,
                             __m256 acc_b, __m128 mins_a, __m128 mins_b) {
  float* y = a.y + t * a.y_stride;
  y[ra] = hsum_f32(acc_a) + hsum_f32(mins_a);
  if (rb != ra) y[rb] = hsum_f32(acc_b) + hsum_f32(mins_b);
}

// vpermw indices that spread scale words over the 16-bit products of a row pair's sub-blocks.
// The scale table holds row A's kScales words, then row B's; for group q, word i of half h (row
// A's 16 words low, row B's high) takes that row's scale kGroup·q + (i mod 16) / (16 / kGroup),
// i.e. each of the group's kGroup sub-blocks spread over 16 / kGroup words (Q4_K: one 32-element
// sub-block of 8 scales, Q6_K: two 16-element ones of 16). Read from a table in memory: built
// in registers, GCC rebuilt every index vector at each call of a decode kernel, a few rows
// apart. The 256-bit decode of the small K-quants takes the low half (one row).
template <int kScales, int kGroup>
struct alignas(64) ScaleWordIndices {
  std::int16_t words[kScales / kGroup][32];
};
template <int kScales, int kGroup>
inline constexpr ScaleWordIndices<kScales, kGroup> kScaleWordIndices = [] {
  ScaleWordIndices<kScales, kGroup> t{};
  for (int q = 0; q < kScales / kGroup; ++q)
    for (int i = 0; i < 32; ++i)
      t.words[q][i] = static_cast<std::int16_t>((i < 16 ? 0 : kScales) + kGroup * q + i % 16 / (16 / kGroup));
  return t;
}();
template <int kScales, int kGroup>
inline __m512i scale_word_index(int q) {
  return _mm512_load_si512(kScaleWordIndices<kScales, kGroup>.words[q]);
}
template <int kScales, int kGroup>
inline __m256i scale_word_index_one_row(int q) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(kScaleWordIndices<kScales, kGroup>.words[q]));
}

// The even dwords of a register, then its odd ones (a vpermd / vpermps index).
inline __m512i even_then_odd_dwords() { return _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15); }

// The contract's final sums (kernels/q8_matmul.h) of rows ra and rb for the 8 tokens t0.. at
// once, with the same additions as store_pair_token: acc(j) gives token j's lanes [A's 8 | B's
// 8], mins(p) the min lanes of tokens 2p and 2p + 1 as [A's 4, B's 4 of 2p | A's 4, B's 4 of
// 2p + 1]. Each step adds two 128-bit groups' worth of partial sums for many outputs at once:
// about 3 vector ops a token where one token at a time took ~20 (extracts, moves, scalar
// adds), which at 1536 or 2048 columns was 13 % of a Q4_K tile's time.
template <class Acc, class Mins>
inline void store_pair_8_tokens(const Q8MatmulArgs& a, std::int64_t t0, std::int64_t ra, std::int64_t rb, Acc&& acc,
                                Mins&& mins) {
  // Groups of 4 partial sums e0..e3 → (e0 + e2), (e1 + e3): p's group i then q's.
  const auto halve = [](__m512 p, __m512 q) {
    return _mm512_add_ps(_mm512_shuffle_ps(p, q, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(p, q, _MM_SHUFFLE(3, 2, 3, 2)));
  };
  // Groups [f0, f1, g0, g1] → [p's f0 + f1, p's g0 + g1, q's f0 + f1, q's g0 + g1].
  const auto finish = [](__m512 p, __m512 q) {
    return _mm512_add_ps(_mm512_shuffle_ps(p, q, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(p, q, _MM_SHUFFLE(3, 1, 3, 1)));
  };
  // Token pair p: the groups (2p, A), (2p, B), (2p + 1, A), (2p + 1, B), each [a0 + a4 .. a3 + a7].
  __m512 quads[4];
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {
    const __m512 x = acc(2 * p), y = acc(2 * p + 1);
    quads[p] = _mm512_add_ps(_mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(x, y, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // Element 4i + p: group i of token pair p.
  const __m512 sums = _mm512_add_ps(finish(halve(quads[0], quads[1]), halve(quads[2], quads[3])),
                                    finish(halve(mins(0), mins(1)), halve(mins(2), mins(3))));
  alignas(64) float out[16];
  _mm512_store_ps(out, sums);
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    float* y = a.y + (t0 + j) * a.y_stride;
    y[ra] = out[8 * (j % 2) + j / 2];
    if (rb != ra) y[rb] = out[8 * (j % 2) + 4 + j / 2];
  }
}

// The f32 vector of kFloats floats (a vector type as a template argument would lose its
// alignment attribute).
template <int kFloats>
struct FloatVec;
template <>
struct FloatVec<4> {
  using type = __m128;
};
template <>
struct FloatVec<8> {
  using type = __m256;
};

// N float accumulators of 512-bit lanes and N of kMinFloats min lanes, all zero.
template <int N, int kMinFloats>
struct ZeroSums {
  __m512 acc[N];
  typename FloatVec<kMinFloats>::type mins[N];

  ZeroSums() {
#pragma GCC unroll 16
    for (int i = 0; i < N; ++i) {
      acc[i] = _mm512_setzero_ps();
      mins[i] = typename FloatVec<kMinFloats>::type{};
    }
  }
};

// The float accumulators of a row-pair tile, per token: acc = [A's 8 lanes | B's 8] and
// mins = [A's 4 | B's 4] (left zero by types without mins: adding +0.0 is the contract's empty
// min sum), all starting at zero.
template <int TT>
struct PairSums : ZeroSums<TT, 8> {
  using ZeroSums<TT, 8>::acc;
  using ZeroSums<TT, 8>::mins;

  // The outputs of rows ra and rb for tokens t0.. (rb == ra marks a last odd row whose second
  // copy is dropped), each the contract's final sum of its lanes.
  void store(const Q8MatmulArgs& a, std::int64_t t0, std::int64_t ra, std::int64_t rb) const {
    if constexpr (TT % 8 == 0) {
      // Copies, so that no reference to the accumulators escapes (GCC then kept them in memory
      // through the whole tile).
#pragma GCC unroll 4
      for (int g = 0; g < TT; g += 8) {
        __m512 acc8[8], mins4[4];
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) acc8[j] = acc[g + j];
#pragma GCC unroll 4
        for (int p = 0; p < 4; ++p)
          mins4[p] = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(mins[g + 2 * p])),
                                                         _mm256_castps_pd(mins[g + 2 * p + 1]), 1));
        store_pair_8_tokens(a, t0 + g, ra, rb, [&acc8](int j) { return acc8[j]; }, [&mins4](int p) { return mins4[p]; });
      }
    } else {
#pragma GCC unroll 16
      for (int t = 0; t < TT; ++t) store_one(a, t, t0 + t, ra, rb);
    }
  }
  // Accumulator i as the outputs of rows ra and rb for token t.
  void store_one(const Q8MatmulArgs& a, int i, std::int64_t t, std::int64_t ra, std::int64_t rb) const {
    store_pair_token(a, t, ra, rb, _mm512_castps512_ps256(acc[i]),
                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[i]), 1)),
                     _mm256_castps256_ps128(mins[i]), _mm256_extractf128_ps(mins[i], 1));
  }
};

// What a PackedChunk keeps besides quants and scales (see its accessors): nothing, each
// 32-element block's quant sum (Q4_1, Q5_1's min term), or the K-quant mins' 32-quant sums
// of token pairs.
enum class ChunkSums { kNone, kBlock32, kTokenPairs };

// How a PackedChunk stores each token's quants: as they are; biased (x ^ 0x80 = x + 128,
// unsigned, for vpdpbusd / vpmaddubsw's unsigned operand); biased with each 4-quant group
// twice (64 bytes a block) and each block scale twice, for block32_tile_512's interleaved row
// pairs (there a register's even int32 lanes are row A's and its odd lanes row B's); or as they
// are in the 8-byte pieces of Q4_K / Q5_K's lanes by chunk (x_pieces_by_chunk).
enum class PackedX { kAsIs, kBiased, kBiasedTwice, kPiecesByChunk };

// Group r (0..7) of a 256-quant block x under the contract's lanes by chunk (Q8Lanes::kByChunk):
// the 8-byte pieces x[64c + 32 (r / 4) + 8 (r % 4) ..] of the four 64-element chunks c, in c
// order. A Q4_K / Q5_K kernel holds piece r % 4 of the four chunks' nibble bytes in one register
// (low nibbles for r < 4, high ones after), so that each int32 lane keeps one sub-block.
inline __m256i x_pieces_by_chunk(const std::int8_t* x, int r) {
  const auto piece = [&](int c) {
    return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + 64 * c + 32 * (r / 4) + 8 * (r % 4)));
  };
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi64(piece(0), piece(1))),
                                 _mm_unpacklo_epi64(piece(2), piece(3)), 1);
}

// A token chunk's activations repacked for the tiles, once per chunk and thread: each tile of
// TT tokens block-major (32-element block b's TT quant rows, then block b + 1's), so a tile
// reads its tokens at fixed offsets from one pointer, in the form the kernel wants (PackedX).
// Without it each token cost a pointer reload (16 live pointers do not fit the general
// registers) and an xor or a masked negation per 32 products.
class PackedChunk {
 public:
  // Repacks tokens [t0, t1) of a, in the tiles for_each_token_tile<kWide> makes, with the sums
  // sum_kind asks for, in the form `form` says.
  template <int kWide>
  void pack(const Q8MatmulArgs& a, std::int64_t t0, std::int64_t t1, ChunkSums sum_kind, PackedX form) {
    t0_ = t0;
    nb_ = a.cols / 32;
    n_scales_ = a.cols / a.block_elems;
    copies_ = form == PackedX::kBiasedTwice ? 2 : 1;
    reserve(static_cast<std::size_t>((t1 - t0) * nb_ * block_bytes()));
    const __m256i bias = _mm256_set1_epi8(static_cast<char>(form == PackedX::kBiased || form == PackedX::kBiasedTwice ? 0x80 : 0));
    // Dword j of the 64-byte form is 4-quant group j / 2.
    const __m512i twice = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    for_each_token_tile<kWide>(t0, t1, [&](auto tt, std::int64_t t) {
      constexpr int TT = decltype(tt)::value;
      std::uint8_t* q = quants(t);
      float* d = scales(t);
      float* s = sums(t);
      for (std::int64_t b = 0; b < nb_; ++b)
        for (int j = 0; j < TT; ++j, q += block_bytes()) {
          const std::int64_t token = t + j;
          const __m256i x =
              form == PackedX::kPiecesByChunk
                  ? x_pieces_by_chunk(a.x_qs + token * a.cols + 256 * (b / 8), static_cast<int>(b % 8))
                  : _mm256_xor_si256(load256(reinterpret_cast<const std::uint8_t*>(a.x_qs + token * a.cols + 32 * b)), bias);
          if (copies_ == 2)
            _mm512_store_si512(q, _mm512_permutexvar_epi32(twice, _mm512_castsi256_si512(x)));
          else
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), x);
          if (sum_kind == ChunkSums::kBlock32) {
            const std::int16_t* xs16 = a.x_sums16 + token * (a.cols / 16) + 2 * b;
            s[b * TT + j] = static_cast<float>(xs16[0] + xs16[1]);
          }
        }
      for (std::int64_t b = 0; b < n_scales_; ++b)
        for (int j = 0; j < TT; ++j)
          for (int c = 0; c < copies_; ++c) d[(b * TT + j) * copies_ + c] = a.x_d[(t + j) * n_scales_ + b];
      if constexpr (TT % 2 == 0)
        if (sum_kind == ChunkSums::kTokenPairs) pack_token_pair_sums<TT>(a, t);
    });
  }

  // The tile starting at token t: quant row j of 32-element block b (kPiecesByChunk: group
  // b % 8 of 256-element block b / 8, x_pieces_by_chunk) at quants(t) + 32 (b·TT + j), the
  // scale of its activation block ab (32 or 256 elements) at scales(t)[ab·TT + j]
  // (kBiasedTwice: at quants(t) + 64 (b·TT + j) and scales(t)[2 (ab·TT + j)] and the next), and
  // (kBlock32) the sum of block b's 32 quants (as f32, exact) at sums(t)[b·TT + j], or
  // (kTokenPairs) pair_sums(t) + 16 (B·TT/2 + p) for tokens 2p, 2p + 1 of 256-element block B.
  const std::uint8_t* quants(std::int64_t t) const { return quants_ + (t - t0_) * nb_ * block_bytes(); }
  const float* scales(std::int64_t t) const { return scales_ + (t - t0_) * n_scales_ * copies_; }
  const float* sums(std::int64_t t) const { return sums_ + (t - t0_) * nb_; }
  const std::int16_t* pair_sums(std::int64_t t) const {
    return reinterpret_cast<const std::int16_t*>(sums_) + (t - t0_) * nb_;
  }

 private:
  std::uint8_t* quants(std::int64_t t) { return quants_ + (t - t0_) * nb_ * block_bytes(); }
  // A token's quant bytes per 32-element block.
  std::int64_t block_bytes() const { return 32 * copies_; }
  float* scales(std::int64_t t) { return scales_ + (t - t0_) * n_scales_ * copies_; }
  float* sums(std::int64_t t) { return sums_ + (t - t0_) * nb_; }

  // The K-quant mins' sums of the tile at t, two tokens interleaved so that one vpmaddwd serves
  // both: for tokens u = 2p, v = 2p + 1 and 256-element block B, the 16 words
  // u0 u1 v0 v1 u2 u3 v2 v3 ... u6 u7 v6 v7 of the eight 32-quant sums (x_sums32) of each.
  template <int TT>
  void pack_token_pair_sums(const Q8MatmulArgs& a, std::int64_t t) {
    const std::int64_t per_token = a.cols / 32;
    std::int16_t* out = reinterpret_cast<std::int16_t*>(sums_) + (t - t0_) * nb_;
    for (std::int64_t b = 0; b < a.cols / 256; ++b)
      for (int p = 0; p < TT / 2; ++p) {
        const std::int16_t* u = a.x_sums32 + (t + 2 * p) * per_token + 8 * b;
        const std::int16_t* v = u + per_token;
        for (int k = 0; k < 8; k += 2, out += 4) {
          out[0] = u[k];
          out[1] = u[k + 1];
          out[2] = v[k];
          out[3] = v[k + 1];
        }
      }
  }

  // Grows (never shrinks) to quant_bytes of quants and a scale and a sum per 32 of them
  // (kBiasedTwice: per 64 bytes, one of each copied).
  void reserve(std::size_t quant_bytes) {
    if (quant_bytes <= capacity_) return;
    const std::size_t floats = quant_bytes / 32;
    quants_ = storage_.get(quant_bytes + 2 * floats * sizeof(float));
    scales_ = reinterpret_cast<float*>(quants_ + quant_bytes);
    sums_ = scales_ + floats;
    capacity_ = quant_bytes;
  }

  GrowingBuffer storage_;
  std::uint8_t* quants_ = nullptr;
  float* scales_ = nullptr;
  float* sums_ = nullptr;
  std::size_t capacity_ = 0;
  std::int64_t t0_ = 0, nb_ = 0, n_scales_ = 0, copies_ = 1;
};

// One chunk buffer per thread for every kernel of a translation unit (a thread_local in the
// walk template would make one per instantiation).
inline PackedChunk& thread_packed_chunk() {
  thread_local PackedChunk packed;
  return packed;
}

// The prefill walk on packed activations: rows in groups of kRows (tile_walk.h
// for_each_row_group_tile), each token chunk packed first into this thread's PackedChunk
// (PackedChunk::pack says what sum_kind and form do); tile(TT, packed chunk, first row, first
// token).
template <int kWide, int kRows, class Tile>
void for_each_packed_row_group_tile(const Q8MatmulArgs& a, ChunkSums sum_kind, PackedX form, Tile&& tile) {
  PackedChunk& packed = thread_packed_chunk();
  for_each_row_group_tile<kWide, kRows>(
      a, [&](auto tt, std::int64_t r, std::int64_t t) { tile(tt, packed, r, t); },
      [&](std::int64_t t0, std::int64_t t1) { packed.pack<kWide>(a, t0, t1, sum_kind, form); });
}

// The same with rows in pairs: tile(TT, packed chunk, row a, row b, first token), row b = row
// a for a last odd row (the 512-bit kernels compute it twice and store one copy).
template <int kWide, class Tile>
void for_each_packed_row_pair_tile(const Q8MatmulArgs& a, ChunkSums sum_kind, PackedX form, Tile&& tile) {
  for_each_packed_row_group_tile<kWide, 2>(
      a, sum_kind, form, [&](auto tt, const PackedChunk& packed, std::int64_t r, std::int64_t t) {
        tile(tt, packed, r, r + 1 < a.row_end ? r + 1 : r, t);
      });
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
