// kquant_small_matmul.cpp — AVX2 integer matmul for Q2_K, Q3_K, IQ4_XS and the codebook types
// IQ2_XXS, IQ1_S, IQ1_M × Q8_K activations:
// each 32-element chunk of a super-block is unpacked in registers (element i in byte i % 32),
// with the chunk's two 16-element scales, then multiplied for 4 tokens at a time. Results
// follow the contract of kernels/q8_matmul.h bit for bit.
#include <array>

#include "kernels/q8_matmul_args.h"
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"
#include "quant/iq_codebooks.h"
#if defined(WHALE_VNNI)
#include "kernels/x86_avx512_vnni/kquant_small_512.h"  // the VNNI build's prefill
#endif

namespace whale::WHALE_AVX2_NS {
namespace {

struct BlockState {
  float d = 0.0f, dmin = 0.0f;
  alignas(32) std::int16_t sc[16];  // scale of each 16 elements
  __m256i m16;                      // min of each 16 elements (Q2_K)
};

// Q2_K: scales[16] @0 (scale low nibble, min high), qs[64] @16, f16 d @80, f16 dmin @82;
// q = (qs[32·(i/128) + i%32] >> 2·((i%128)/32)) & 3.
struct Q2K {
  static constexpr int kBytes = 84;
  static constexpr bool kSigned = false;
  static constexpr int kMaxLevel = 3;  // the largest |level|
  static constexpr bool kHasMin = true;
  static constexpr bool kPermuteScales = true;  // see tile
  static void begin(const std::uint8_t* w, BlockState& s) {
    for (int j = 0; j < 16; ++j) s.sc[j] = static_cast<std::int16_t>(w[j] & 0xF);
    s.m16 = _mm256_cvtepu8_epi16(_mm_srli_epi16(
        _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)), _mm_set1_epi8(static_cast<char>(0xF0))), 4));
    s.d = load_f16(w + 80);
    s.dmin = -load_f16(w + 82);
  }
  static __m256i chunk(const std::uint8_t* w, int c) {
    const __m256i q = load256(w + 16 + 32 * (c / 4));
    return _mm256_and_si256(_mm256_srli_epi16(q, 2 * (c % 4)), _mm256_set1_epi8(3));
  }
};

// Q3_K: hmask[32] @0, qs[64] @32, 12 scale bytes @96, f16 d @108; q = low 2 bits (as Q2_K)
// minus 4 where bit i/32 of hmask[i%32] is clear; 6-bit scales biased by 32.
struct Q3K {
  static constexpr int kBytes = 110;
  static constexpr bool kSigned = true;
  static constexpr int kMaxLevel = 4;  // the largest |level|
  static constexpr bool kHasMin = false;
  static constexpr bool kPermuteScales = true;  // see tile
  // Scale j: low 4 bits from byte j (j < 8) or the high nibble of byte j - 8, top 2 bits from
  // bits 2·(j/4) of byte 8 + j%4; all 16 at once: the 8 low bytes and their high nibbles side by
  // side, and the word of bytes 8-11 shifted by 0, 2, 4, 6 for scales 0-3, 4-7, 8-11, 12-15.
  static void begin(const std::uint8_t* w, BlockState& s) {
    const __m128i low8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + 96));
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m128i low = _mm_unpacklo_epi64(_mm_and_si128(low8, m4), _mm_and_si128(_mm_srli_epi16(low8, 4), m4));
    const __m128i high = _mm_and_si128(
        _mm_srlv_epi32(_mm_set1_epi32(static_cast<int>(load_u32(w + 104))), _mm_setr_epi32(0, 2, 4, 6)),
        _mm_set1_epi8(3));
    const __m128i sc = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32));
    _mm256_store_si256(reinterpret_cast<__m256i*>(s.sc), _mm256_cvtepi8_epi16(sc));
    s.d = load_f16(w + 108);
  }
  static __m256i chunk(const std::uint8_t* w, int c) {
    const __m256i low = _mm256_and_si256(_mm256_srli_epi16(load256(w + 32 + 32 * (c / 4)), 2 * (c % 4)),
                                         _mm256_set1_epi8(3));
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(load256(w), c), _mm256_set1_epi8(1));
    // low | high << 2 is q + 4 in 0..7.
    return _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 2)), _mm256_set1_epi8(4));
  }
};

// IQ4_XS: f16 d @0, u16 scales_h @2, scales_l[4] @4, qs[128] @8; sub-block ib (32 elements):
// ls = low nibble of scales_l[ib/2] (by parity) | 2 bits of scales_h << 4, scale ls - 32;
// element 32ib + j is the low nibble of qs[16ib + j], 32ib + 16 + j the high nibble.
struct IQ4XS {
  static constexpr int kBytes = 136;
  static constexpr bool kSigned = true;
  static constexpr int kMaxLevel = 127;  // the largest |level|
  static constexpr bool kHasMin = false;
  static constexpr bool kPermuteScales = false;  // see tile
  static void begin(const std::uint8_t* w, BlockState& s) {
    const int sh = w[2] | (w[3] << 8);
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = ((w[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((sh >> (2 * ib)) & 3) << 4);
      s.sc[2 * ib] = s.sc[2 * ib + 1] = static_cast<std::int16_t>(ls - 32);
    }
    s.d = load_f16(w);
  }
  static __m256i chunk(const std::uint8_t* w, int c) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 8 + 16 * c));
    const __m128i m = _mm_set1_epi8(0x0F);
    const __m256i idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
    const __m256i table = _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38,
                                           53, 69, 89, 113, -127, -104, -83, -65, -49, -35, -22,
                                           -10, 1, 13, 25, 38, 53, 69, 89, 113);
    return _mm256_shuffle_epi8(table, idx);
  }
};

// Codebook types (integer forms as in kernels/ref/q8_matmul_ref.cpp): a chunk is sub-block c,
// its 4 groups of 8 gathered from the codebook as 4 u64 lanes.
inline __m256i gather_grid(const std::array<std::uint64_t, 256>& grid, std::uint32_t idx4) {
  return _mm256_set_epi64x(static_cast<long long>(grid[idx4 >> 24]),
                           static_cast<long long>(grid[(idx4 >> 16) & 0xFF]),
                           static_cast<long long>(grid[(idx4 >> 8) & 0xFF]),
                           static_cast<long long>(grid[idx4 & 0xFF]));
}


// IQ2_XXS: f16 d @0, then per sub-block two u32 @2 + 8c: 4 index bytes, 4 x 7 sign bits + ls.
// q = ±grid, scale 2 ls + 1, block scale d / 8.
struct IQ2XXS {
  static constexpr int kBytes = 66;
  static constexpr bool kSigned = true;
  static constexpr int kMaxLevel = 43;  // the largest |level|
  static constexpr bool kHasMin = false;
  static constexpr bool kPermuteScales = true;  // see tile
  static void begin(const std::uint8_t* w, BlockState& s) {
    for (int c = 0; c < 8; ++c)
      s.sc[2 * c] = s.sc[2 * c + 1] = static_cast<std::int16_t>(2 * (load_u32(w + 6 + 8 * c) >> 28) + 1);
    s.d = load_f16(w) * 0.125f;
  }
  static __m256i chunk(const std::uint8_t* w, int c) {
    const __m256i mag = gather_grid(kIq2xxsGrid, load_u32(w + 2 + 8 * c));
    const std::uint32_t sb = load_u32(w + 6 + 8 * c);
    const __m256i neg = _mm256_set_epi64x(static_cast<long long>(kIq2SignMasks[(sb >> 21) & 127u]),
                                          static_cast<long long>(kIq2SignMasks[(sb >> 14) & 127u]),
                                          static_cast<long long>(kIq2SignMasks[(sb >> 7) & 127u]),
                                          static_cast<long long>(kIq2SignMasks[sb & 127u]));
    // Two's complement negation where neg is all ones: (mag ^ neg) - neg.
    return _mm256_sub_epi8(_mm256_xor_si256(mag, neg), neg);
  }
};

// IQ1_S / IQ1_M: q = 8 · grid ± 1 (grid in {-1, 0, 1}); `shift_neg` is 0xFF in the bytes whose
// group has the negative shift.
inline __m256i iq1_levels(std::uint32_t i0, std::uint32_t i1, std::uint32_t i2, std::uint32_t i3,
                          __m256i shift_neg) {
  const __m256i g = _mm256_set_epi64x(static_cast<long long>(kIq1sGrid[i3]), static_cast<long long>(kIq1sGrid[i2]),
                                      static_cast<long long>(kIq1sGrid[i1]), static_cast<long long>(kIq1sGrid[i0]));
  return _mm256_add_epi8(_mm256_sign_epi8(_mm256_set1_epi8(8), g), _mm256_or_si256(shift_neg, _mm256_set1_epi8(1)));
}

// IQ1_S: f16 d @0, qs[32] @2, u16 qh[8] @34 (3 index bits per group, ls in bits 12-14, shift
// sign in bit 15); scale 2 ls + 1 per sub-block, block scale d / 8.
struct IQ1S {
  static constexpr int kBytes = 50;
  static constexpr bool kSigned = true;
  static constexpr int kMaxLevel = 9;  // the largest |level|
  static constexpr bool kHasMin = false;
  static constexpr bool kPermuteScales = false;  // see tile
  static void begin(const std::uint8_t* w, BlockState& s) {
    for (int c = 0; c < 8; ++c)
      s.sc[2 * c] = s.sc[2 * c + 1] = static_cast<std::int16_t>(2 * ((load_u16(w + 34 + 2 * c) >> 12) & 7) + 1);
    s.d = load_f16(w) * 0.125f;
  }
  static __m256i chunk(const std::uint8_t* w, int c) {
    const unsigned qh = load_u16(w + 34 + 2 * c);
    const std::uint8_t* qs = w + 2 + 4 * c;
    const __m256i neg = (qh & 0x8000u) ? _mm256_set1_epi8(-1) : _mm256_setzero_si256();
    return iq1_levels(qs[0] | ((qh & 7u) << 8), qs[1] | (((qh >> 3) & 7u) << 8),
                      qs[2] | (((qh >> 6) & 7u) << 8), qs[3] | (((qh >> 9) & 7u) << 8), neg);
  }
};

// IQ1_M: qs[32] @0, qh[16] @32 (per group: 3 index bits, then the shift sign), 4 u16 scale
// words @48 (3-bit scale per 16 elements; top nibbles = d's f16 bits); block scale d / 8.
struct IQ1M {
  static constexpr int kBytes = 56;
  static constexpr bool kSigned = true;
  static constexpr int kMaxLevel = 9;  // the largest |level|
  static constexpr bool kHasMin = false;
  static constexpr bool kPermuteScales = false;  // see tile
  static void begin(const std::uint8_t* w, BlockState& s) {
    std::uint16_t d_bits = 0;
    for (int k = 0; k < 4; ++k) {
      const unsigned word = load_u16(w + 48 + 2 * k);
      d_bits = static_cast<std::uint16_t>(d_bits | ((word >> 12) << (4 * k)));
      for (int h = 0; h < 4; ++h) s.sc[4 * k + h] = static_cast<std::int16_t>(2 * ((word >> (3 * h)) & 7) + 1);
    }
    s.d = _cvtsh_ss(d_bits) * 0.125f;
  }
  static __m256i chunk(const std::uint8_t* w, int c) {
    const unsigned h01 = w[32 + 2 * c], h23 = w[33 + 2 * c];
    const std::uint8_t* qs = w + 4 * c;
    const auto neg = [](unsigned nib) -> long long { return (nib & 8u) ? -1LL : 0LL; };
    const __m256i shift_neg = _mm256_set_epi64x(neg(h23 >> 4), neg(h23), neg(h01 >> 4), neg(h01));
    return iq1_levels(qs[0] | ((h01 & 7u) << 8), qs[1] | (((h01 >> 4) & 7u) << 8),
                      qs[2] | ((h23 & 7u) << 8), qs[3] | (((h23 >> 4) & 7u) << 8), shift_neg);
  }
};

template <class T, int TT>
void tile(const Q8MatmulArgs& a, std::int64_t r, std::int64_t t0) {
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* row = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  __m256 acc[TT];
  __m128 mins[TT];
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) {
    acc[t] = _mm256_setzero_ps();
    mins[t] = _mm_setzero_ps();
  }
  BlockState st;
  for (std::int64_t b = 0; b < nb; ++b) {
    const std::uint8_t* w = row + b * T::kBytes;
    prefetch_ahead<T::kBytes>(w);
    T::begin(w, st);
    __m256i lanes[TT];
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) lanes[t] = _mm256_setzero_si256();
    for (int c = 0; c < 8; ++c) {
      const __m256i q = T::chunk(w, c);
      const __m256i qa = T::kSigned ? _mm256_sign_epi8(q, q) : q;
      __m256i scales = _mm256_set_m128i(_mm_set1_epi16(st.sc[2 * c + 1]), _mm_set1_epi16(st.sc[2 * c]));
#if defined(WHALE_VNNI)
      // One vpermw from the 16 scale words (AVX512BW + VL) instead of two word broadcasts and an
      // insert: at decode (cache-hot, one thread, 2048x7168) Q2_K 58 -> 78-80 GOP/s, Q3_K 37-38
      // -> 51, IQ2_XXS 15-16 -> 20-21. The types whose begin() writes the scales one by one lose
      // instead (IQ4_XS 54-55 -> 40-42, IQ1_M 17 -> 15: the vector load waits for those stores),
      // so they keep the broadcasts (kPermuteScales).
      if constexpr (T::kPermuteScales)
        scales = _mm256_permutexvar_epi16(scale_word_index_one_row<16, 2>(c),
                                          _mm256_load_si256(reinterpret_cast<const __m256i*>(st.sc)));
#endif
#pragma GCC unroll 8
      for (int t = 0; t < TT; ++t) {
        const __m256i x = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(a.x_qs + (t0 + t) * a.cols + 256 * b + 32 * c));
        // Signed levels: the sign moves onto x (exact, x ≠ -128); unsigned ones multiply x as is.
        const __m256i p = _mm256_maddubs_epi16(qa, T::kSigned ? _mm256_sign_epi8(x, q) : x);
        lanes[t] = madd_add(lanes[t], p, scales);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const float dx = a.x_d[(t0 + t) * nb + b];
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(st.d * dx), _mm256_cvtepi32_ps(lanes[t]), acc[t]);
      if constexpr (T::kHasMin) {
        // Min lane k: groups 4k..4k+3, i.e. madd lanes 2k and 2k+1.
        const __m256i xs = _mm256_loadu_si256(
            reinterpret_cast<const __m256i*>(a.x_sums16 + (t0 + t) * (a.cols / 16) + 16 * b));
        const __m256i prod = _mm256_madd_epi16(st.m16, xs);
        const __m128i m4 = _mm_hadd_epi32(_mm256_castsi256_si128(prod), _mm256_extracti128_si256(prod, 1));
        mins[t] = _mm_fmadd_ps(_mm_set1_ps(st.dmin * dx), _mm_cvtepi32_ps(m4), mins[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) a.y[(t0 + t) * a.y_stride + r] = hsum_f32(acc[t]) + hsum_f32(mins[t]);
}

template <class T>
void run(const Q8MatmulArgs& a) {
#if defined(WHALE_VNNI)
  // Prefill only: at decode the 512-bit tile was slower for all but IQ2_XXS (cache-hot, one
  // thread, 2048x7168, GB/s-equivalent OP/s 256-bit -> 512-bit: Q2_K 55 -> 41, Q3_K 37 -> 13,
  // IQ4_XS 55 -> 29, IQ1_M 16 -> 12, IQ2_XXS 15 -> 18): the per-block unpacking doubles and no
  // token shares it.
  if (a.n_tokens == 1) {
    for (std::int64_t r = a.row_begin; r < a.row_end; ++r) tile<T, 1>(a, r, 0);
    return;
  }
  for_each_packed_row_pair_tile<32>(
      a, ChunkSums::kNone, kBiasedX<T> ? PackedX::kBiased : PackedX::kAsIs, [&](auto tt, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t) {
        SmallKquantPairs<T, BlockState> unpack;
        chunk8_tile_512<decltype(unpack), decltype(tt)::value>(a, x, ra, rb, t, unpack);
      });
#else
  for_each_tile<kPrefillTokens>(a, [&](auto tt, std::int64_t r, std::int64_t t) { tile<T, decltype(tt)::value>(a, r, t); });
#endif
}

}  // namespace

void matmul_q2_k(const Q8MatmulArgs& a) { run<Q2K>(a); }
void matmul_q3_k(const Q8MatmulArgs& a) { run<Q3K>(a); }
void matmul_iq4_xs(const Q8MatmulArgs& a) { run<IQ4XS>(a); }
void matmul_iq2_xxs(const Q8MatmulArgs& a) { run<IQ2XXS>(a); }
void matmul_iq1_s(const Q8MatmulArgs& a) { run<IQ1S>(a); }
void matmul_iq1_m(const Q8MatmulArgs& a) { run<IQ1M>(a); }

}  // namespace whale::WHALE_AVX2_NS
