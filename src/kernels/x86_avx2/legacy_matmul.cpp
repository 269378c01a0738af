// legacy_matmul.cpp — AVX2 integer matmul for the 32-element block types other than Q8_0
// (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) × Q8_0 activations: each block is unpacked in registers to
// 32 int8 levels (element i in byte i), then multiplied like Q8_0 (decode: decode_tile below;
// prefill: block32_tile.h).
// Results follow the contract of kernels/q8_matmul.h bit for bit: its nibble-byte lanes (element
// i in lane (i mod 16) / 4, so the AVX2 kernels put two rows or two tokens in one register), and
// the min term of Q4_1/Q5_1 in min lane 0 (its one 32-element group pair is groups 0 and 1).
#include "kernels/q8_matmul_args.h"
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"
#if defined(WHALE_VNNI)
#include "kernels/x86_avx512_vnni/nibble32_512.h"  // the VNNI build's kernels
#else
#include "kernels/x86_avx2/block32_tile.h"  // the AVX2 build's prefill
#endif

namespace whale::WHALE_AVX2_NS {
namespace {

// Element j in the low nibble of qs[j], j + 16 in the high nibble: 32 levels 0..15 in order.
// The 16 bytes are loaded into both halves and the upper half shifted by 4 (three uops; the
// split-and-insert form took five, and at decode these kernels are short of vector uops).
inline __m256i nibbles(const std::uint8_t* qs) {
  const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  return _mm256_and_si256(_mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0F));
}

// The Q5 levels: the nibbles with bit j of the little-endian u32 at qh added as 16 in byte j,
// minus `offset` (16 for Q5_0's signed levels, 0 for Q5_1). AVX512BW turns the bits into a byte
// mask directly (one masked op); AVX2 spreads each qh byte over 8 lanes and compares.
inline __m256i with_fifth_bits(__m256i nib, const std::uint8_t* qh_bytes, int offset) {
  std::uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
#if defined(WHALE_VNNI)
  const __m256i base = offset != 0 ? _mm256_sub_epi8(nib, _mm256_set1_epi8(static_cast<char>(offset))) : nib;
  return _mm256_mask_add_epi8(base, _cvtu32_mask32(qh), base, _mm256_set1_epi8(0x10));
#else
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(qh)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3,
                       3, 3, 3, 3, 3, 3, 3));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i q = _mm256_or_si256(
      nib, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10)));
  return offset != 0 ? _mm256_sub_epi8(q, _mm256_set1_epi8(static_cast<char>(offset))) : q;
#endif
}


#if !defined(WHALE_VNNI)
// Decode's row pairs (decode_tile) hold two rows in one register, by the contract's nibble-byte
// lanes (kernels/q8_matmul.h): `lo` has elements 0-15 of row A in its low half and of row B in
// its high half (the low nibbles of their 16 stored bytes), `hi` elements 16-31 (the high
// nibbles). Against x[0..15] and x[16..31] in both halves, byte j of lo and of hi then meet in
// int32 lane j / 4 of each half: the lanes of A, then of B.
struct NibbleHalves {
  __m256i lo, hi;
};

// The 16 nibble bytes at qa and qb, split: levels 0..15.
inline NibbleHalves nibble_halves(const std::uint8_t* qa, const std::uint8_t* qb) {
  const __m128i row_a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qa));
  const __m128i row_b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qb));
  const __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(row_a), row_b, 1);
  const __m256i m = _mm256_set1_epi8(0x0F);
  return {_mm256_and_si256(q, m), _mm256_and_si256(_mm256_srli_epi16(q, 4), m)};
}

// Plus 16 at element j where bit j of the row's little-endian u32 fifth bits (at qha, qhb) is
// set, as with_fifth_bits: each half of lo spreads its row's bits 0-15, of hi bits 16-31.
inline NibbleHalves with_fifth_bits(NibbleHalves n, const std::uint8_t* qha, const std::uint8_t* qhb) {
  const __m256i qh = _mm256_set1_epi64x(static_cast<long long>(load_u32(qha) | std::uint64_t{load_u32(qhb)} << 32));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const auto add16 = [&](__m256i q, __m256i spread) {
    const __m256i s = _mm256_shuffle_epi8(qh, spread);
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(s, bit), bit);
    return _mm256_or_si256(q, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
  };
  return {add16(n.lo, _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5,
                                       5, 5, 5, 5, 5, 5)),
          add16(n.hi, _mm256_setr_epi8(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7,
                                       7, 7, 7, 7, 7, 7))};
}
#endif

struct Q4_0 {
  static constexpr int kBytes = 18;
  static constexpr bool kHasMin = false;
  static constexpr int kCodeOffset = 8;
  static Block32Levels unpack(const std::uint8_t* p) {
    return {_mm256_sub_epi8(codes256(p), _mm256_set1_epi8(8)), broadcast_f16(p), 0.0f};
  }
  static __m256i codes256(const std::uint8_t* p) { return nibbles(p + 2); }
#if !defined(WHALE_VNNI)
  static constexpr bool kLanesByNibbleByte = true;
  static NibbleHalves pair_halves(const std::uint8_t* wa, const std::uint8_t* wb) {
    return nibble_halves(wa + 2, wb + 2);
  }
#endif
#if defined(WHALE_VNNI)
  static NibbleQuad codes_quad(const QuadBlock& block) {
    NibbleQuad q = nibbles_quad(block, 2);
    q.d = f16_quad(block, 0);
    return q;
  }
#endif
};
struct Q4_1 {
  static constexpr int kBytes = 20;
  static constexpr bool kHasMin = true;
  static constexpr int kCodeOffset = 0;
  static Block32Levels unpack(const std::uint8_t* p) { return {codes256(p), broadcast_f16(p), load_f16(p + 2)}; }
  static __m256i codes256(const std::uint8_t* p) { return nibbles(p + 4); }
#if !defined(WHALE_VNNI)
  static constexpr bool kLanesByNibbleByte = true;
  static NibbleHalves pair_halves(const std::uint8_t* wa, const std::uint8_t* wb) {
    return nibble_halves(wa + 4, wb + 4);
  }
#endif
#if defined(WHALE_VNNI)
  static NibbleQuad codes_quad(const QuadBlock& block) {
    NibbleQuad q = nibbles_quad(block, 4);
    q.d = f16_quad(block, 0);
    q.m = f16_quad(block, 2);
    return q;
  }
#endif
};
struct Q5_0 {
  static constexpr int kBytes = 22;
  static constexpr bool kHasMin = false;
  static constexpr int kCodeOffset = 16;
  static Block32Levels unpack(const std::uint8_t* p) {
    return {with_fifth_bits(nibbles(p + 6), p + 2, 16), broadcast_f16(p), 0.0f};
  }
  static __m256i codes256(const std::uint8_t* p) { return with_fifth_bits(nibbles(p + 6), p + 2, 0); }
#if !defined(WHALE_VNNI)
  static constexpr bool kLanesByNibbleByte = true;
  static NibbleHalves pair_halves(const std::uint8_t* wa, const std::uint8_t* wb) {
    return with_fifth_bits(nibble_halves(wa + 6, wb + 6), wa + 2, wb + 2);
  }
#endif
#if defined(WHALE_VNNI)
  static NibbleQuad codes_quad(const QuadBlock& block) {
    NibbleQuad q = nibbles_quad(block, 6);
    add_fifth_bits_quad(q, block, 2);
    q.d = f16_quad(block, 0);
    return q;
  }
#endif
};
struct Q5_1 {
  static constexpr int kBytes = 24;
  static constexpr bool kHasMin = true;
  static constexpr int kCodeOffset = 0;
  static Block32Levels unpack(const std::uint8_t* p) { return {codes256(p), broadcast_f16(p), load_f16(p + 2)}; }
  static __m256i codes256(const std::uint8_t* p) { return with_fifth_bits(nibbles(p + 8), p + 4, 0); }
#if !defined(WHALE_VNNI)
  static constexpr bool kLanesByNibbleByte = true;
  static NibbleHalves pair_halves(const std::uint8_t* wa, const std::uint8_t* wb) {
    return with_fifth_bits(nibble_halves(wa + 8, wb + 8), wa + 4, wb + 4);
  }
#endif
#if defined(WHALE_VNNI)
  static NibbleQuad codes_quad(const QuadBlock& block) {
    NibbleQuad q = nibbles_quad(block, 8);
    add_fifth_bits_quad(q, block, 4);
    q.d = f16_quad(block, 0);
    q.m = f16_quad(block, 2);
    return q;
  }
#endif
};
struct IQ4_NL {
  static constexpr int kBytes = 18;
  static constexpr bool kHasMin = false;
  static Block32Levels unpack(const std::uint8_t* p) {
    const __m256i table = _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38,
                                           53, 69, 89, 113, -127, -104, -83, -65, -49, -35, -22,
                                           -10, 1, 13, 25, 38, 53, 69, 89, 113);
    return {_mm256_shuffle_epi8(table, nibbles(p + 2)), broadcast_f16(p), 0.0f};
  }
#if !defined(WHALE_VNNI)
  static constexpr bool kLanesByNibbleByte = true;
  static NibbleHalves pair_halves(const std::uint8_t* wa, const std::uint8_t* wb) {
    const __m256i table = _mm256_broadcastsi128_si256(
        _mm_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));
    const NibbleHalves n = nibble_halves(wa + 2, wb + 2);
    return {_mm256_shuffle_epi8(table, n.lo), _mm256_shuffle_epi8(table, n.hi)};
  }
#endif
#if defined(WHALE_VNNI)
  // The table + 128 (1..241, unsigned).
  static constexpr int kCodeOffset = 128;
  static NibbleQuad codes_quad(const QuadBlock& block) {
    const __m512i table = _mm512_broadcast_i32x4(_mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, -127, -115,
                                                               -103, -90, -75, -59, -39, -15));
    NibbleQuad q = nibbles_quad(block, 2);
    q.lo = _mm512_shuffle_epi8(table, q.lo);
    q.hi = _mm512_shuffle_epi8(table, q.hi);
    q.d = f16_quad(block, 0);
    return q;
  }
#endif
};

#if !defined(WHALE_VNNI)
// x[16h .. 16h + 15] of 32 quants in both 128-bit halves (a load, no shuffle uop).
inline __m256i x_half(const std::int8_t* x, int h) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16 * h)));
}

// Decode: R ≤ 4 rows × TT ≤ 2 tokens from t0, all blocks: one token, and the tokens of a matmul
// with 2 or 3 (batched decode, an MoE expert's share of a short prefill), which the packed
// 8-token walk ran at about one token's speed (Q5_0, hot, one core, 2048x7168, GOP/s: 1 token
// 36.5, 2 tokens 38, 3 tokens 30).
// Rows go in pairs, both in one register (T::pair_halves, NibbleHalves): the contract's lanes
// of these types (kernels/q8_matmul.h: element i in lane (i mod 16) / 4, 4 lanes) leave half of
// a row's 8 int32 lanes empty, so one vpmaddwd, convert and FMA serve two rows, lanes [A | B]
// (R = 1: row A twice, one copy kept).
// The types with unsigned codes c = level + T::kCodeOffset ≤ 31 (Q4_0, Q4_1, Q5_0, Q5_1) take
// each block's products as maddubs(c, x) less the token's maddubs(kCodeOffset, x)
// (decode_offsets<kCodeOffset, true>): moving each level's sign onto x instead took two vpsignb a
// block and row (Q5_0 cache-hot 9.8 -> 11.5 GB/s). Both halves' int16 pairs add before the one
// vpmaddwd (|pairs| ≤ 2 · 31 · 128, their sum fits int16). IQ4_NL's table levels (|q| ≤ 127)
// still move their sign onto x (exact: x ≠ -128), and as two of its pairs (≤ 2 · 127 · 128) may
// overflow int16, each half takes its own vpmaddwd.
template <class T, int R, int TT>
void decode_tile(const Q8MatmulArgs& a, const std::int16_t* offsets, std::int64_t r0, std::int64_t t0) {
  constexpr bool kCodes = kHasCodes<T>;
  constexpr int P = (R + 1) / 2;  // row pairs
  const std::int64_t nb = a.cols / 32;
  const std::uint8_t* w[2 * P];
#pragma GCC unroll 4
  for (int r = 0; r < 2 * P; ++r)
    w[r] = bytes(a.w) + static_cast<std::size_t>(r0 + (r < R ? r : R - 1)) * a.w_row_bytes;
  __m256 acc[P][TT];
  __m128 mins[P][TT];  // [0, min lane 0 of A, 0, min lane 0 of B] (Q4_1 / Q5_1)
#pragma GCC unroll 2
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t) {
      acc[p][t] = _mm256_setzero_ps();
      mins[p][t] = _mm_setzero_ps();
    }
  // Per-token pointers hoisted out of the block loop (re-derived from `a` there, GCC spent a
  // multiply a block on each).
  const std::int8_t* x[TT];
  const float* xd[TT];
  const std::int16_t* xs16[TT];
  const std::int16_t* off[TT];
#pragma GCC unroll 2
  for (int t = 0; t < TT; ++t) {
    x[t] = a.x_qs + (t0 + t) * a.cols;
    xd[t] = a.x_d + (t0 + t) * nb;
    xs16[t] = a.x_sums16 + (t0 + t) * (a.cols / 16);
    off[t] = offsets != nullptr ? offsets + (t0 + t) * (a.cols / 4) : nullptr;
  }
  const __m256i ones = _mm256_set1_epi16(1);
  // The f16 scales (and mins) of rows A and B converted together, then spread over the halves.
  const __m256i spread =
      T::kHasMin ? _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2) : _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  for (std::int64_t b = 0; b < nb; ++b) {
    prefetch_rows_in_order<T::kBytes, R>(w[0], a.w_row_bytes, b);
    __m256i xlo[TT], xhi[TT];
    __m256 dx[TT];
    __m128 xsum[TT];
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t) {
      xlo[t] = x_half(x[t] + 32 * b, 0);
      xhi[t] = x_half(x[t] + 32 * b, 1);
      dx[t] = _mm256_broadcast_ss(xd[t] + b);
      xsum[t] = _mm_setzero_ps();
      if constexpr (T::kHasMin) {
        const std::int16_t* xs = xs16[t] + 2 * b;
        // Min lane 0 holds groups 0 and 1; lanes 1-3 get exact zeros, as in the reference.
        const float s = static_cast<float>(xs[0] + xs[1]);
        xsum[t] = _mm_setr_ps(0.0f, s, 0.0f, s);
      }
    }
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) {
      const std::uint8_t* pa = w[2 * p] + b * T::kBytes;
      const std::uint8_t* pb = w[2 * p + 1] + b * T::kBytes;
      // [dA, mA, dB, mB] (Q4_1 / Q5_1: the u32 at each block's start), else [dA, dB, ...].
      const __m128 dm = T::kHasMin
          ? _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(load_u32(pa) | std::uint64_t{load_u32(pb)} << 32)))
          : _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(load_u16(pa) | std::uint32_t{load_u16(pb)} << 16)));
      const __m256 dw = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(dm), spread);  // [dA ×4 | dB ×4]
      const NibbleHalves c = T::pair_halves(pa, pb);
      NibbleHalves wabs;
      if constexpr (!kCodes) wabs = {_mm256_sign_epi8(c.lo, c.lo), _mm256_sign_epi8(c.hi, c.hi)};
#pragma GCC unroll 2
      for (int t = 0; t < TT; ++t) {
        __m256i s;
        if constexpr (kCodes) {
          __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(c.lo, xlo[t]), _mm256_maddubs_epi16(c.hi, xhi[t]));
          if constexpr (T::kCodeOffset != 0)
            pairs = _mm256_sub_epi16(pairs, _mm256_broadcastsi128_si256(_mm_load_si128(
                                                reinterpret_cast<const __m128i*>(off[t] + 8 * b))));
          s = _mm256_madd_epi16(pairs, ones);
        } else {
          s = _mm256_add_epi32(
              _mm256_madd_epi16(_mm256_maddubs_epi16(wabs.lo, _mm256_sign_epi8(xlo[t], c.lo)), ones),
              _mm256_madd_epi16(_mm256_maddubs_epi16(wabs.hi, _mm256_sign_epi8(xhi[t], c.hi)), ones));
        }
        acc[p][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, dx[t]), _mm256_cvtepi32_ps(s), acc[p][t]);
        if constexpr (T::kHasMin)
          mins[p][t] = _mm_fmadd_ps(_mm_mul_ps(dm, _mm256_castps256_ps128(dx[t])), xsum[t], mins[p][t]);
      }
    }
  }
  // Each row's contract sum: (acc0 + acc2) + (acc1 + acc3) of its half (hsum_f32), plus its min
  // lane 0's ((m0 + 0) + (0 + 0)) (+0 for the types without mins, as the reference adds).
#pragma GCC unroll 2
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t) {
      alignas(16) float m[4];
      _mm_store_ps(m, mins[p][t]);
      float* y = a.y + (t0 + t) * a.y_stride + r0 + 2 * p;
      y[0] = hsum_f32(_mm256_castps256_ps128(acc[p][t])) + ((m[1] + 0.0f) + (0.0f + 0.0f));
      if (2 * p + 1 < R) y[1] = hsum_f32(_mm256_extractf128_ps(acc[p][t], 1)) + ((m[3] + 0.0f) + (0.0f + 0.0f));
    }
}

// The rows of a matmul of up to kDecodeTileTokens tokens: four at a time (two row pairs, two
// FMA chains; see run), then a pair, then a last odd row.
template <class T>
void decode_rows(const Q8MatmulArgs& a) {
  const std::int16_t* offsets = nullptr;
  if constexpr (kHasCodes<T>)
    if constexpr (T::kCodeOffset != 0) offsets = decode_offsets<T::kCodeOffset, true>(a);
  const auto rows = [&](auto r_count, std::int64_t r) {
    for_each_decode_token_tile(a.n_tokens, [&](auto tt, std::int64_t t) {
      decode_tile<T, decltype(r_count)::value, decltype(tt)::value>(a, offsets, r, t);
    });
  };
  std::int64_t r = a.row_begin;
  for (; r + 4 <= a.row_end; r += 4) rows(std::integral_constant<int, 4>{}, r);
  if (r + 2 <= a.row_end) {
    rows(std::integral_constant<int, 2>{}, r);
    r += 2;
  }
  if (r < a.row_end) rows(std::integral_constant<int, 1>{}, r);
}
#endif

// Decode (one token) takes rows four at a time: each output's f32 sum is a chain of one FMA
// per 32-element block in block order (the contract), 4 cycles a link, which with the short
// unpacking of these types became the limit. Cache-hot Q5_0 1408x2048, one thread: 12.0 GB/s
// one row at a time, 13.5 in pairs (kernels bench, WHALE_BENCH_HOT=1). Since a row pair shares
// one register (decode_tile), a pair is one chain again: Q4_0 2048x7168 decoded slower than the
// old per-row pairs (0.59-0.62 against 0.51-0.53 ms), four rows (two chains) in 0.38-0.42 (Q5_0
// 0.69-0.88 against 0.92-0.95). One prefetch pointer walks the rows in address order
// (prefetch_rows_in_order).
// The VNNI build runs nibble32_512.h for both, four rows a register (see there).
template <class T>
void run(const Q8MatmulArgs& a) {
#if defined(WHALE_VNNI)
  if (a.n_tokens == 1)
    nibble_decode_512<T>(a);
  else
    nibble_matmul_512<T>(a);
#else
  if (a.n_tokens <= kDecodeTileTokens)
    decode_rows<T>(a);
  else
    block32_matmul<T>(a);
#endif
}

}  // namespace

void matmul_q4_0(const Q8MatmulArgs& a) { run<Q4_0>(a); }
void matmul_q4_1(const Q8MatmulArgs& a) { run<Q4_1>(a); }
void matmul_q5_0(const Q8MatmulArgs& a) { run<Q5_0>(a); }
void matmul_q5_1(const Q8MatmulArgs& a) { run<Q5_1>(a); }
void matmul_iq4_nl(const Q8MatmulArgs& a) { run<IQ4_NL>(a); }

}  // namespace whale::WHALE_AVX2_NS
