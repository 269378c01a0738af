// legacy_matmul.cpp — AVX2 integer matmul for the 32-element block types other than Q8_0
// (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) × Q8_0 activations: each block is unpacked in registers to
// 32 int8 levels (element i in byte i), then multiplied like Q8_0 (decode: row pairs below;
// prefill: block32_tile.h).
// Results follow the contract of kernels/q8_matmul.h bit for bit (the min term of Q4_1/Q5_1
// lands in min lane 0: its one 32-element group pair is groups 0 and 1).
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

#if defined(WHALE_VNNI)
// Decode's unsigned codes (block32_512.h's block32_decode_tile_512), both rows in one register:
// the 32 nibbles of rows A and B in element order, from 16 stored bytes each.
inline __m512i nibbles_pair(const std::uint8_t* qa, const std::uint8_t* qb) {
  const __m512i q = _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qa)))),
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qb))), 1);
  return _mm512_and_si512(_mm512_srlv_epi64(q, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4)), _mm512_set1_epi8(0x0F));
}
// Plus 16 where bit j of each row's little-endian u32 fifth bits is set (element j).
inline __m512i with_fifth_bits_pair(__m512i nib, const std::uint8_t* qha, const std::uint8_t* qhb) {
  const std::uint64_t bits = load_u32(qha) | static_cast<std::uint64_t>(load_u32(qhb)) << 32;
  return _mm512_mask_add_epi8(nib, _cvtu64_mask64(bits), nib, _mm512_set1_epi8(0x10));
}
// [mA ×4 | mB ×4] from the f16 mins at ma and mb.
inline __m256 min_pair(const std::uint8_t* ma, const std::uint8_t* mb) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(load_f16(ma))), _mm_set1_ps(load_f16(mb)), 1);
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
#if defined(WHALE_VNNI)
  static Block32Pair codes(const std::uint8_t* wa, const std::uint8_t* wb) {
    return {nibbles_pair(wa + 2, wb + 2), broadcast_f16_pair(wa, wb), _mm256_setzero_ps()};
  }
#endif
};
struct Q4_1 {
  static constexpr int kBytes = 20;
  static constexpr bool kHasMin = true;
  static constexpr int kCodeOffset = 0;
  static Block32Levels unpack(const std::uint8_t* p) { return {codes256(p), broadcast_f16(p), load_f16(p + 2)}; }
  static __m256i codes256(const std::uint8_t* p) { return nibbles(p + 4); }
#if defined(WHALE_VNNI)
  static Block32Pair codes(const std::uint8_t* wa, const std::uint8_t* wb) {
    return {nibbles_pair(wa + 4, wb + 4), broadcast_f16_pair(wa, wb), min_pair(wa + 2, wb + 2)};
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
#if defined(WHALE_VNNI)
  static Block32Pair codes(const std::uint8_t* wa, const std::uint8_t* wb) {
    return {with_fifth_bits_pair(nibbles_pair(wa + 6, wb + 6), wa + 2, wb + 2), broadcast_f16_pair(wa, wb),
            _mm256_setzero_ps()};
  }
#endif
};
struct Q5_1 {
  static constexpr int kBytes = 24;
  static constexpr bool kHasMin = true;
  static constexpr int kCodeOffset = 0;
  static Block32Levels unpack(const std::uint8_t* p) { return {codes256(p), broadcast_f16(p), load_f16(p + 2)}; }
  static __m256i codes256(const std::uint8_t* p) { return with_fifth_bits(nibbles(p + 8), p + 4, 0); }
#if defined(WHALE_VNNI)
  static Block32Pair codes(const std::uint8_t* wa, const std::uint8_t* wb) {
    return {with_fifth_bits_pair(nibbles_pair(wa + 8, wb + 8), wa + 4, wb + 4), broadcast_f16_pair(wa, wb),
            min_pair(wa + 2, wb + 2)};
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
#if defined(WHALE_VNNI)
  // The table + 128 (1..241, unsigned).
  static constexpr int kCodeOffset = 128;
  static Block32Pair codes(const std::uint8_t* wa, const std::uint8_t* wb) {
    const __m512i table = _mm512_broadcast_i32x4(_mm_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, -127, -115,
                                                               -103, -90, -75, -59, -39, -15));
    return {_mm512_shuffle_epi8(table, nibbles_pair(wa + 2, wb + 2)), broadcast_f16_pair(wa, wb), _mm256_setzero_ps()};
  }
#endif
};

#if !defined(WHALE_VNNI)
// Decode: R rows × TT ≤ 2 tokens from t0, all blocks: one token, and the tokens of a matmul with
// 2 or 3 (batched decode, an MoE expert's share of a short prefill), which the packed 8-token
// walk ran at about one token's speed (Q5_0, hot, one core, 2048x7168, GOP/s: 1 token 36.5, 2
// tokens 38, 3 tokens 30). The types with unsigned codes c = level + T::kCodeOffset ≤ 31 (Q4_0,
// Q4_1, Q5_0, Q5_1) take each block's products as maddubs(c, x) less the token's
// maddubs(kCodeOffset, x) (decode_offsets, of all the call's tokens): moving each level's sign
// onto x instead took two vpsignb a block and row (Q5_0 cache-hot 9.8 -> 11.5 GB/s). IQ4_NL's
// table levels (|q| ≤ 127) still move their sign onto x (exact: x ≠ -128; pairs ≤ 2 · 127 · 127).
template <class T, int R, int TT>
void decode_tile(const Q8MatmulArgs& a, const std::int16_t* offsets, std::int64_t r0, std::int64_t t0) {
  constexpr bool kCodes = kHasCodes<T>;
  const std::int64_t nb = a.cols / 32;
  const std::uint8_t* w[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) w[r] = bytes(a.w) + static_cast<std::size_t>(r0 + r) * a.w_row_bytes;
  __m256 acc[R][TT];
  __m128 mins[R][TT];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t) {
      acc[r][t] = _mm256_setzero_ps();
      mins[r][t] = _mm_setzero_ps();
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
    off[t] = offsets != nullptr ? offsets + (t0 + t) * (a.cols / 2) : nullptr;
  }
  const __m256i ones = _mm256_set1_epi16(1);
  for (std::int64_t b = 0; b < nb; ++b) {
    prefetch_rows_in_order<T::kBytes, R>(w[0], a.w_row_bytes, b);
    __m256i xq[TT];
    __m256 dx[TT];
    __m128 xsum[TT];
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t) {
      xq[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[t] + 32 * b));
      dx[t] = _mm256_broadcast_ss(xd[t] + b);
      xsum[t] = _mm_setzero_ps();
      if constexpr (T::kHasMin) {
        const std::int16_t* xs = xs16[t] + 2 * b;
        // Min lane 0 holds groups 0 and 1; lanes 1-3 get exact zeros, as in the reference.
        xsum[t] = _mm_setr_ps(static_cast<float>(xs[0] + xs[1]), 0.0f, 0.0f, 0.0f);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const std::uint8_t* p = w[r] + b * T::kBytes;
      const __m256 dw = broadcast_f16(p);
      __m256i c, wabs;
      if constexpr (kCodes) {
        c = T::codes256(p);
      } else {
        c = T::unpack(p).q;
        wabs = _mm256_sign_epi8(c, c);
      }
#pragma GCC unroll 2
      for (int t = 0; t < TT; ++t) {
        __m256i pairs;
        if constexpr (kCodes) {
          pairs = _mm256_maddubs_epi16(c, xq[t]);
          if constexpr (T::kCodeOffset != 0)
            pairs = _mm256_sub_epi16(pairs, _mm256_load_si256(reinterpret_cast<const __m256i*>(off[t] + 16 * b)));
        } else {
          pairs = _mm256_maddubs_epi16(wabs, _mm256_sign_epi8(xq[t], c));
        }
        acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, dx[t]), _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones)), acc[r][t]);
        if constexpr (T::kHasMin)
          mins[r][t] = _mm_fmadd_ps(_mm_mul_ps(_mm_set1_ps(load_f16(p + 2)), _mm256_castps256_ps128(dx[t])), xsum[t], mins[r][t]);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t) a.y[(t0 + t) * a.y_stride + r0 + r] = hsum_f32(acc[r][t]) + hsum_f32(mins[r][t]);
}

// The rows of a matmul of up to kDecodeTileTokens tokens, in pairs.
template <class T>
void decode_rows(const Q8MatmulArgs& a) {
  const std::int16_t* offsets = nullptr;
  if constexpr (kHasCodes<T>)
    if constexpr (T::kCodeOffset != 0) offsets = decode_offsets<T::kCodeOffset>(a);
  std::int64_t r = a.row_begin;
  for (; r + 2 <= a.row_end; r += 2)
    for_each_decode_token_tile(a.n_tokens, [&](auto tt, std::int64_t t) { decode_tile<T, 2, decltype(tt)::value>(a, offsets, r, t); });
  for (; r < a.row_end; ++r)
    for_each_decode_token_tile(a.n_tokens, [&](auto tt, std::int64_t t) { decode_tile<T, 1, decltype(tt)::value>(a, offsets, r, t); });
}
#endif

#if defined(WHALE_VNNI)
// Two rows of type T unpacked into the halves of 512-bit registers (block32_512.h): decode's
// codes of both rows at once, less the code offset. Unpacking each row on 256 bits and joining
// them took about twice the uops (Q5_0: ~16 a block pair against ~7), paid per 16 tokens.
template <class T>
struct LegacyPair {
  static constexpr int kBytes = T::kBytes;
  static constexpr bool kHasMin = T::kHasMin;
  static Block32Pair unpack(const std::uint8_t* wa, const std::uint8_t* wb) {
    Block32Pair w = T::codes(wa, wb);
    if constexpr (T::kCodeOffset != 0)
      w.levels = _mm512_sub_epi8(w.levels, _mm512_set1_epi8(static_cast<char>(T::kCodeOffset)));
    return w;
  }
};
#endif

// Decode (one token) takes rows in pairs: each output's f32 sum is a chain of one FMA per
// 32-element block in block order (the contract), 4 cycles a link, which with the short
// unpacking of these types became the limit; two rows run two chains side by side. Cache-hot
// Q5_0 1408x2048, one thread: 12.0 GB/s one row at a time, 13.5 in pairs (kernels bench,
// WHALE_BENCH_HOT=1). One prefetch pointer walks both rows in address order
// (prefetch_rows_in_order).
// The VNNI build runs block32_512.h for both: its decode tile on unsigned codes decoded
// cache-hot Q5_0 1408x2048 at 15.3 GB/s against 11.5 for these pairs, one thread.
template <class T>
void run(const Q8MatmulArgs& a) {
#if defined(WHALE_VNNI)
  if (a.n_tokens == 1)
    block32_decode_512<T>(a);
  else
    block32_matmul_512<LegacyPair<T>>(a);
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
