// legacy_matmul.cpp — AVX2 integer matmul for the 32-element block types other than Q8_0
// (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) × Q8_0 activations: each block is unpacked in registers to
// 32 int8 levels (element i in byte i), then multiplied like Q8_0, in the same register tiles.
// Results follow the contract of kernels/q8_matmul.h bit for bit (the min term of Q4_1/Q5_1
// lands in min lane 0: its one 32-element group pair is groups 0 and 1).
#include "kernels/q8_matmul_args.h"
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Element j in the low nibble of qs[j], j + 16 in the high nibble: 32 levels 0..15 in order.
inline __m256i nibbles(const std::uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

// Bit j of the little-endian u32 at p, as 0x10 in byte j (the fifth bit of Q5 levels).
inline __m256i fifth_bits(const std::uint8_t* p) {
  std::uint32_t qh;
  std::memcpy(&qh, p, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(qh)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3,
                       3, 3, 3, 3, 3, 3, 3));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit),
                          _mm256_set1_epi8(0x10));
}

struct Unpacked {
  __m256i q;     // 32 signed levels
  float d;
  float m;       // the min (Q4_1 / Q5_1), else unused
};

struct Q4_0 {
  static constexpr int kBytes = 18;
  static constexpr bool kHasMin = false;
  static Unpacked unpack(const std::uint8_t* p) {
    return {_mm256_sub_epi8(nibbles(p + 2), _mm256_set1_epi8(8)), load_f16(p), 0.0f};
  }
};
struct Q4_1 {
  static constexpr int kBytes = 20;
  static constexpr bool kHasMin = true;
  static Unpacked unpack(const std::uint8_t* p) { return {nibbles(p + 4), load_f16(p), load_f16(p + 2)}; }
};
struct Q5_0 {
  static constexpr int kBytes = 22;
  static constexpr bool kHasMin = false;
  static Unpacked unpack(const std::uint8_t* p) {
    const __m256i q = _mm256_or_si256(nibbles(p + 6), fifth_bits(p + 2));
    return {_mm256_sub_epi8(q, _mm256_set1_epi8(16)), load_f16(p), 0.0f};
  }
};
struct Q5_1 {
  static constexpr int kBytes = 24;
  static constexpr bool kHasMin = true;
  static Unpacked unpack(const std::uint8_t* p) {
    return {_mm256_or_si256(nibbles(p + 8), fifth_bits(p + 4)), load_f16(p), load_f16(p + 2)};
  }
};
struct IQ4_NL {
  static constexpr int kBytes = 18;
  static constexpr bool kHasMin = false;
  static Unpacked unpack(const std::uint8_t* p) {
    const __m256i table = _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38,
                                           53, 69, 89, 113, -127, -104, -83, -65, -49, -35, -22,
                                           -10, 1, 13, 25, 38, 53, 69, 89, 113);
    return {_mm256_shuffle_epi8(table, nibbles(p + 2)), load_f16(p), 0.0f};
  }
};

// R weight rows × TT tokens from (r0, t0), all blocks. Levels are signed (|q| ≤ 127) and x
// in [-127, 127], so the sign moves onto x exactly and pairs stay ≤ 2 · 127 · 127.
template <class T, int R, int TT>
void tile(const Q8MatmulArgs& a, std::int64_t r0, std::int64_t t0) {
  const std::int64_t nb = a.cols / 32;
  const std::uint8_t* w[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) w[r] = bytes(a.w) + static_cast<std::size_t>(r0 + r) * a.w_row_bytes;
  __m256 acc[R][TT];
  __m128 mins[R][TT];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      acc[r][t] = _mm256_setzero_ps();
      mins[r][t] = _mm_setzero_ps();
    }
  for (std::int64_t b = 0; b < nb; ++b) {
    __m256i wq[R], wabs[R];
    __m256 dw[R];
    __m128 mw[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      prefetch_ahead<T::kBytes>(w[r] + b * T::kBytes);
      const Unpacked u = T::unpack(w[r] + b * T::kBytes);
      wq[r] = u.q;
      wabs[r] = _mm256_sign_epi8(u.q, u.q);
      dw[r] = _mm256_set1_ps(u.d);
      mw[r] = _mm_set1_ps(u.m);
    }
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) {
      const std::int64_t tok = t0 + t;
      const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.x_qs + tok * a.cols + 32 * b));
      const __m256 dx = _mm256_broadcast_ss(a.x_d + tok * nb + b);
      __m128 xsum = _mm_setzero_ps();
      if constexpr (T::kHasMin) {
        const std::int16_t* xs = a.x_sums16 + tok * (a.cols / 16) + 2 * b;
        // Min lane 0 holds groups 0 and 1; lanes 1-3 get exact zeros, as in the reference.
        xsum = _mm_setr_ps(static_cast<float>(xs[0] + xs[1]), 0.0f, 0.0f, 0.0f);
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256i s = dot_u8s8_add(_mm256_setzero_si256(), wabs[r], _mm256_sign_epi8(xq, wq[r]));
        acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw[r], dx), _mm256_cvtepi32_ps(s), acc[r][t]);
        if constexpr (T::kHasMin)
          mins[r][t] = _mm_fmadd_ps(_mm_mul_ps(mw[r], _mm256_castps256_ps128(dx)), xsum, mins[r][t]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t)
      a.y[(t0 + t) * a.y_stride + r0 + r] = hsum_f32(acc[r][t]) + hsum_f32(mins[r][t]);
}

template <class T>
void run(const Q8MatmulArgs& a) {
  for_each_tile<kPrefillTokens>(a, [&](auto tt, std::int64_t r, std::int64_t t) { tile<T, 1, decltype(tt)::value>(a, r, t); });
}

}  // namespace

void matmul_q4_0(const Q8MatmulArgs& a) { run<Q4_0>(a); }
void matmul_q4_1(const Q8MatmulArgs& a) { run<Q4_1>(a); }
void matmul_q5_0(const Q8MatmulArgs& a) { run<Q5_0>(a); }
void matmul_q5_1(const Q8MatmulArgs& a) { run<Q5_1>(a); }
void matmul_iq4_nl(const Q8MatmulArgs& a) { run<IQ4_NL>(a); }

}  // namespace whale::WHALE_AVX2_NS
