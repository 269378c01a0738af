// nibble32_512.h — the matmul of the 32-element nibble types (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) on
// 512-bit registers, four weight rows a register, for the VNNI build only (included by
// ../x86_avx2/legacy_matmul.cpp when WHALE_VNNI is defined; internal linkage).
//
// The contract gives these types lanes by nibble byte (kernels/q8_matmul.h): lane k of a block
// sums elements 4k..4k + 3 and 16 + 4k..16 + 4k + 3, both nibbles of stored bytes 4k..4k + 3, and
// lanes 4-7 stay empty. A row's block then needs 4 int32 lanes, so a register holds four rows:
// two vpdpbusd (the low nibbles against x[0..15], the high ones against x[16..31]) fill them,
// and one convert + FMA serve four rows, where lanes by position took a vpdpbusd, a convert and
// an FMA per two rows (block32_512.h, which Q8_0's prefill still runs).
//
// The rows sit in 128-bit quarters, [A | B | C | D] (row r's lanes 0-3 in quarter r), against
// x[0..15] and x[16..31] each broadcast to all four quarters from memory: the codes need no
// permute and x no repacking beyond prefill's bias. (Rows interleaved by dword instead, so
// that a token's four scales d_r · d_x are one 128-bit broadcast, need each 4-quant group of x
// four times: the packed chunk grew 4× and prefill ran up to 15 % slower at 7168 columns.)
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// One block of four rows: the 32 codes of each (Type::kCodeOffset + level, unsigned) as [A | B
// | C | D], low nibbles' elements 0-15 in `lo` and the high nibbles' 16-31 in `hi`; the rows'
// scales d and (Q4_1, Q5_1) mins m.
struct NibbleQuad {
  __m512i lo, hi;
  __m128 d, m;
};

// Four rows from r0: row r0 + i clamped to r_end − 1 (a copy computed and not stored).
struct RowQuad {
  const std::uint8_t* row[4] = {};
  int count = 0;  // rows to store, 1..4

  RowQuad() = default;
  RowQuad(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t r_end)
      : count(r_end - r0 < 4 ? static_cast<int>(r_end - r0) : 4) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i)
      row[i] = bytes(a.w) + static_cast<std::size_t>(r0 + (i < count ? i : count - 1)) * a.w_row_bytes;
  }
};

// The four rows' block b: its bytes in each row.
struct QuadBlock {
  const std::uint8_t* w[4];
  QuadBlock(const RowQuad& rows, std::int64_t b, int block_bytes) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) w[i] = rows.row[i] + b * block_bytes;
  }
};

// The 16 bytes at offset `off` of the four rows' block as [A | B | C | D].
inline __m512i load_quad(const QuadBlock& q, int off) {
  const auto row = [&](int i) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q.w[i] + off)); };
  return _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(_mm512_castsi128_si512(row(0)), row(1), 1), row(2), 2),
                            row(3), 3);
}

// The nibbles of the four rows' 16 bytes at `off`: levels 0..15 of elements 0-15 (lo) and 16-31.
inline NibbleQuad nibbles_quad(const QuadBlock& q, int off) {
  const __m512i v = load_quad(q, off);
  const __m512i low = _mm512_set1_epi8(0x0F);
  return {_mm512_and_si512(v, low), _mm512_and_si512(_mm512_srli_epi16(v, 4), low), _mm_setzero_ps(), _mm_setzero_ps()};
}

// The four rows' u16 at `off` of the block, as one u64 (row A lowest). Gathered in scalar
// code, which runs beside the vector work: one load per row and a vpermw to pick the words
// took Q5_0 decode (d and both halves of the fifth bits) from 0.40 to 0.54 ms cache-hot
// (2048×7168, one thread, alternated five times; the pair kernel before: 0.48).
inline std::uint64_t u16_quad(const QuadBlock& q, int off) {
  std::uint64_t v = 0;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint64_t>(load_u16(q.w[i] + off)) << (16 * i);
  return v;
}

// The four rows' f16 at `off` as [A, B, C, D] in f32 (exact).
inline __m128 f16_quad(const QuadBlock& q, int off) {
  return _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(u16_quad(q, off))));
}

// Q5: plus 16 where bit j of a row's little-endian u32 fifth bits at `off` is set (element j;
// bits 0-15 go to lo, 16-31 to hi): one masked add a register.
inline void add_fifth_bits_quad(NibbleQuad& n, const QuadBlock& q, int off) {
  const __m512i sixteen = _mm512_set1_epi8(0x10);
  n.lo = _mm512_mask_add_epi8(n.lo, _cvtu64_mask64(u16_quad(q, off)), n.lo, sixteen);
  n.hi = _mm512_mask_add_epi8(n.hi, _cvtu64_mask64(u16_quad(q, off + 2)), n.hi, sixteen);
}

// [v0 ×4 | v1 ×4 | v2 ×4 | v3 ×4]: each row's factor over its quarter.
inline __m512 spread_quarters(__m128 v) {
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), _mm512_castps128_ps512(v));
}

// The contract's final sums of four rows from their lanes in quarters [A | B | C | D] and their
// min lane 0 (mins, zeros for types without mins): (l0 + l2) + (l1 + l3) of each quarter, plus
// its min. Lanes 4-7 and min lanes 1-3 are empty: adding their +0 changes nothing, as no
// accumulator is ever −0.
inline __m128 quarter_sums(__m512 acc, __m128 mins) {
  const __m512 s = _mm512_add_ps(acc, _mm512_permute_ps(acc, _MM_SHUFFLE(1, 0, 3, 2)));   // l0 + l2, l1 + l3
  const __m512 tree = _mm512_add_ps(s, _mm512_permute_ps(s, _MM_SHUFFLE(2, 3, 0, 1)));  // in each lane 0
  const __m512i lane0 = _mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm_add_ps(_mm512_castps512_ps128(_mm512_permutexvar_ps(lane0, tree)), mins);
}

// The float accumulators of N sets of four rows' lanes (decode: N groups of rows; prefill: N
// tokens): acc in quarters [A | B | C | D], mins each row's min lane 0, all from zero.
template <int N>
using QuadSums = ZeroSums<N, 4>;

// Stores the four rows' outputs y4 (row r0 + i in element i) of token t, count of them.
inline void store_quad(const Q8MatmulArgs& a, std::int64_t t, std::int64_t r0, int count, __m128 y4) {
  _mm_mask_storeu_ps(a.y + t * a.y_stride + r0, static_cast<__mmask8>((1u << count) - 1), y4);
}

// Decode (one token) of kQuads × 4 rows from r0: the codes against x as it is, as in
// block32_512.h's former pairs (the offset o comes back as −o · Σ x per lane, once per block for
// the tile). Lanes as [A | B | C | D], so x[0..15] and x[16..31] are two broadcast loads and a
// row's scale d_r · d_x is spread over its quarter.
template <class Type, int kQuads>
void nibble_decode_tile_512(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t r_end) {
  constexpr int kBytes = Type::kBytes;
  const std::int64_t nb = a.cols / 32;
  RowQuad quads[kQuads];
#pragma GCC unroll 4
  for (int q = 0; q < kQuads; ++q) quads[q] = RowQuad(a, r0 + 4 * q, r_end);
  QuadSums<kQuads> sums;
  for (std::int64_t b = 0; b < nb; ++b) {
    prefetch_rows_in_order<kBytes, 4 * kQuads>(quads[0].row[0], a.w_row_bytes, b);
    const __m512i x_lo = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.x_qs + 32 * b)));
    const __m512i x_hi = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.x_qs + 32 * b + 16)));
    __m512i start = _mm512_setzero_si512();  // −o · Σ x per lane
    if constexpr (Type::kCodeOffset != 0) {
      const __m512i o = _mm512_set1_epi8(static_cast<char>(Type::kCodeOffset));
      start = _mm512_sub_epi32(start, _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(start, o, x_lo), o, x_hi));
    }
    const __m128 dx = _mm_set1_ps(a.x_d[b]);
    __m128 xsum = _mm_setzero_ps();
    if constexpr (Type::kHasMin) xsum = _mm_set1_ps(static_cast<float>(a.x_sums16[2 * b] + a.x_sums16[2 * b + 1]));
#pragma GCC unroll 4
    for (int q = 0; q < kQuads; ++q) {
      const NibbleQuad w = Type::codes_quad(QuadBlock(quads[q], b, kBytes));
      const __m512i lanes = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(start, w.lo, x_lo), w.hi, x_hi);
      const __m512 scale = spread_quarters(_mm_mul_ps(w.d, dx));
      sums.acc[q] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(lanes), sums.acc[q]);
      // The min term in min lane 0 of each row; lanes 1-3 would add exact zeros.
      if constexpr (Type::kHasMin) sums.mins[q] = _mm_fmadd_ps(_mm_mul_ps(w.m, dx), xsum, sums.mins[q]);
    }
  }
#pragma GCC unroll 4
  for (int q = 0; q < kQuads; ++q) store_quad(a, 0, r0 + 4 * q, quads[q].count, quarter_sums(sums.acc[q], sums.mins[q]));
}

// Decode over a.row_begin..a.row_end: eight rows a tile, then four.
template <class Type>
void nibble_decode_512(const Q8MatmulArgs& a) {
  std::int64_t r = a.row_begin;
  for (; r + 8 <= a.row_end; r += 8) nibble_decode_tile_512<Type, 2>(a, r, a.row_end);
  for (; r < a.row_end; r += 4) nibble_decode_tile_512<Type, 1>(a, r, a.row_end);
}

// Prefill: four rows from r0 × the TT tokens of the packed tile at t0 (PackedX::kBiased: x +
// 128, unsigned). The levels (codes − o, signed) stay in quarters as at decode, against each
// token's x[0..15] and x[16..31] broadcast from memory, and each lane starts from −128 · Σ w,
// one pair of vpdpbusd per block for all tokens: Σ (x + 128)·w = Σ x·w + 128·Σ w, exact in
// int32. A token pays two vpdpbusd, a multiply (its d_x times the rows' d spread over their
// quarters), a convert and an FMA per block: 128 products, where a row pair's lanes by
// position took a vpdpbusd, a convert and an FMA for 64 (block32_512.h).
template <class Type, int TT>
void nibble_quad_tile_512(const Q8MatmulArgs& a, const PackedChunk& x, std::int64_t r0, std::int64_t t0) {
  constexpr int kBytes = Type::kBytes;
  const RowQuad rows(a, r0, a.row_end);
  const std::uint8_t* xq = x.quants(t0);  // [nb][TT][32]
  const float* xd = x.scales(t0);         // [nb][TT]
  const float* xs = x.sums(t0);           // [nb][TT]
  QuadSums<TT> sums;
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  struct Unpacked {
    __m512i lo, hi, start;
    __m512 d;  // [dA ×4 | dB ×4 | dC ×4 | dD ×4]
    __m128 m;
  };
  // Block b's levels and their start, a block ahead of its tokens (as block32_tile_512: the
  // tokens' chains wait on the start otherwise).
  const auto unpack = [&](std::int64_t b) {
    const QuadBlock block(rows, b, kBytes);
    prefetch_ahead<kBytes>(block.w[0]);
    prefetch_ahead<kBytes>(block.w[2]);
    NibbleQuad w = Type::codes_quad(block);
    if constexpr (Type::kCodeOffset != 0) {
      const __m512i o = _mm512_set1_epi8(static_cast<char>(Type::kCodeOffset));
      w.lo = _mm512_sub_epi8(w.lo, o);
      w.hi = _mm512_sub_epi8(w.hi, o);
    }
    const __m512i zero = _mm512_setzero_si512();
    return Unpacked{w.lo, w.hi, _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, bias, w.lo), bias, w.hi)),
                    spread_quarters(w.d), w.m};
  };
  const std::int64_t nb = a.cols / 32;
  Unpacked next = unpack(0);
  for (std::int64_t b = 0; b < nb; ++b, xq += 32 * TT, xd += TT, xs += TT) {
    const Unpacked w = next;
    if (b + 1 < nb) next = unpack(b + 1);
#pragma GCC unroll 16
    for (int t = 0; t < TT; ++t) {
      const __m512i x_lo = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xq + 32 * t)));
      const __m512i x_hi = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(xq + 32 * t + 16)));
      const __m512i lanes = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(w.start, x_lo, w.lo), x_hi, w.hi);
      sums.acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(w.d, _mm512_set1_ps(xd[t])), _mm512_cvtepi32_ps(lanes), sums.acc[t]);
      if constexpr (Type::kHasMin)
        sums.mins[t] = _mm_fmadd_ps(_mm_mul_ps(w.m, _mm_set1_ps(xd[t])), _mm_set1_ps(xs[t]), sums.mins[t]);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < TT; ++t) store_quad(a, t0 + t, r0, rows.count, quarter_sums(sums.acc[t], sums.mins[t]));
}

// The prefill of a nibble type: rows in fours, each token chunk repacked first.
template <class Type>
void nibble_matmul_512(const Q8MatmulArgs& a) {
  constexpr int kWide = Type::kHasMin ? kPrefillTokens : 16;
  for_each_packed_row_group_tile<kWide, 4>(
      a, Type::kHasMin ? ChunkSums::kBlock32 : ChunkSums::kNone, PackedX::kBiased,
      [&](auto tt, const PackedChunk& x, std::int64_t r, std::int64_t t) {
        nibble_quad_tile_512<Type, decltype(tt)::value>(a, x, r, t);
      });
}

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
