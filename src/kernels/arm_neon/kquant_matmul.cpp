// kquant_matmul.cpp — NEON integer matmul for the 256-element super-block types (Q4_K, Q5_K,
// Q6_K, Q2_K, Q3_K, IQ4_XS and the codebook types IQ2_XXS, IQ1_S, IQ1_M) × Q8_K activations.
// Each 32-element chunk c is unpacked in registers to int8 levels (elements 0-15, 16-31), then
// for up to 4 tokens: lane[0-3] += sc[2c] · dot16(lo), lane[4-7] += sc[2c+1] · dot16(hi), exact
// int32 (the contract's lanes by position; the per-16 scale multiplies the lane sums, as the
// reference's sc(i) · q · x does term by term). Q4_K and Q5_K have lanes by chunk instead: the
// 64 elements of chunks 2j, 2j+1 fill lanes 2j, 2j+1 (see tile). Per super-block one fma per
// lane with d_w · d_x, and the min lanes for Q4_K, Q5_K and Q2_K. Results follow
// kernels/q8_matmul.h bit for bit.
#include <array>

#include "kernels/arm_neon/neon_kernels.h"
#include "kernels/arm_neon/neon_util.h"
#include "quant/iq_codebooks.h"

namespace whale::WHALE_NEON_NS {
namespace {

struct BlockState {
  float d = 0.0f, dmin = 0.0f;
  std::int32_t sc[16];  // integer scale of each 16 elements
  int16x8_t m_lo, m_hi; // integer min of each 16 elements (types with mins)
};

inline int8x16_t s8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }

// Q4_K / Q5_K scales and mins: 8 six-bit values each in 12 bytes (the packing of
// quant/blocks.h, re-derived here so no shared inline code gets +dotprod).
inline void k4_scales(const std::uint8_t* s, std::uint8_t* sc, std::uint8_t* m) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
    sc[j + 4] = static_cast<std::uint8_t>((s[j + 8] & 0xF) | ((s[j] >> 6) << 4));
    m[j + 4] = static_cast<std::uint8_t>((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
  }
}

// Q4_K: f16 d @0, f16 dmin @2, 12 scale bytes @4, qs[128] @16; chunk c is the low (c even) or
// high (c odd) nibbles of qs[32 (c / 2) ...]. kQ5: Q5_K, with qh[32] @16 before qs @48: element
// l of chunk c takes bit c of qh[l] as 0x10. Scales and mins per 32 elements (both 16-groups).
// The contract gives these two types lanes by chunk (Q8Lanes::kByChunk in kernels/q8_matmul.h).
template <bool kQ5>
struct Q45K {
  static constexpr int kBytes = kQ5 ? 176 : 144;
  static constexpr int kQs = kQ5 ? 48 : 16;
  static constexpr bool kHasMin = true;
  static constexpr bool kLanesByChunk = true;
  static void begin(const std::uint8_t* w, BlockState& s) {
    std::uint8_t sc[8], m[8];
    k4_scales(w + 4, sc, m);
    std::int16_t m16[16];
    for (int j = 0; j < 8; ++j) {
      s.sc[2 * j] = s.sc[2 * j + 1] = sc[j];
      m16[2 * j] = m16[2 * j + 1] = m[j];
    }
    s.m_lo = vld1q_s16(m16);
    s.m_hi = vld1q_s16(m16 + 8);
    s.d = load_f16(w);
    s.dmin = -load_f16(w + 2);
  }
  static Chunk chunk(const std::uint8_t* w, int c) {
    const uint8x16_t q0 = vld1q_u8(w + kQs + 32 * (c / 2)), q1 = vld1q_u8(w + kQs + 32 * (c / 2) + 16);
    const uint8x16_t low = vdupq_n_u8(0x0F);
    uint8x16_t lo = (c % 2 == 0) ? vandq_u8(q0, low) : vshrq_n_u8(q0, 4);
    uint8x16_t hi = (c % 2 == 0) ? vandq_u8(q1, low) : vshrq_n_u8(q1, 4);
    if constexpr (kQ5) {
      const uint8x16_t bit = vdupq_n_u8(static_cast<std::uint8_t>(1u << c)), five = vdupq_n_u8(0x10);
      lo = vorrq_u8(lo, vandq_u8(vtstq_u8(vld1q_u8(w + 16), bit), five));
      hi = vorrq_u8(hi, vandq_u8(vtstq_u8(vld1q_u8(w + 32), bit), five));
    }
    return {s8(lo), s8(hi)};
  }
};

// Q6_K: ql[128] @0, qh[64] @128, int8 scales[16] @192, f16 d @208. Chunk c = 4n + k takes the
// low (k < 2) or high nibbles of ql[64n + 32 (k & 1) ...] and bits 2k, 2k+1 of qh[32n ...] as
// bits 4-5; level - 32.
struct Q6K {
  static constexpr int kBytes = 210;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByChunk = false;
  static void begin(const std::uint8_t* w, BlockState& s) {
    for (int j = 0; j < 16; ++j) s.sc[j] = static_cast<std::int8_t>(w[192 + j]);
    s.d = load_f16(w + 208);
  }
  static Chunk chunk(const std::uint8_t* w, int c) {
    const int n = c / 4, k = c % 4;
    const std::uint8_t* ql = w + 64 * n + 32 * (k & 1);
    const std::uint8_t* qh = w + 128 + 32 * n;
    const auto level = [&](int half) {
      const uint8x16_t l = vld1q_u8(ql + 16 * half);
      const uint8x16_t nib = k < 2 ? vandq_u8(l, vdupq_n_u8(0x0F)) : vshrq_n_u8(l, 4);
      const uint8x16_t h = vandq_u8(vshlq_u8(vld1q_u8(qh + 16 * half), vdupq_n_s8(static_cast<std::int8_t>(-2 * k))),
                                    vdupq_n_u8(3));
      return vsubq_s8(s8(vorrq_u8(nib, vshlq_n_u8(h, 4))), vdupq_n_s8(32));
    };
    return {level(0), level(1)};
  }
};

// The 2-bit field (c % 4) of qs[32 (c / 4) ...] (Q2_K and the low bits of Q3_K).
inline Chunk two_bits(const std::uint8_t* qs, int c) {
  const int8x16_t shift = vdupq_n_s8(static_cast<std::int8_t>(-2 * (c % 4)));
  const auto field = [&](int half) {
    return s8(vandq_u8(vshlq_u8(vld1q_u8(qs + 32 * (c / 4) + 16 * half), shift), vdupq_n_u8(3)));
  };
  return {field(0), field(1)};
}

// Q2_K: scales[16] @0 (scale low nibble, min high), qs[64] @16, f16 d @80, f16 dmin @82.
struct Q2K {
  static constexpr int kBytes = 84;
  static constexpr bool kHasMin = true;
  static constexpr bool kLanesByChunk = false;
  static void begin(const std::uint8_t* w, BlockState& s) {
    for (int j = 0; j < 16; ++j) s.sc[j] = w[j] & 0xF;
    const uint8x16_t m = vshrq_n_u8(vld1q_u8(w), 4);
    s.m_lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(m)));
    s.m_hi = vreinterpretq_s16_u16(vmovl_high_u8(m));
    s.d = load_f16(w + 80);
    s.dmin = -load_f16(w + 82);
  }
  static Chunk chunk(const std::uint8_t* w, int c) { return two_bits(w + 16, c); }
};

// Q3_K: hmask[32] @0, qs[64] @32, 12 scale bytes @96, f16 d @108; q = the 2 low bits (as
// Q2_K) minus 4 where bit c of hmask[l] is clear; 6-bit scales biased by 32.
struct Q3K {
  static constexpr int kBytes = 110;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByChunk = false;
  static void begin(const std::uint8_t* w, BlockState& s) {
    const std::uint8_t* sc = w + 96;
    for (int j = 0; j < 16; ++j) {
      const int low = (j < 8) ? (sc[j] & 0xF) : (sc[j - 8] >> 4);
      const int high = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
      s.sc[j] = (low | (high << 4)) - 32;
    }
    s.d = load_f16(w + 108);
  }
  static Chunk chunk(const std::uint8_t* w, int c) {
    const Chunk low = two_bits(w + 32, c);
    const uint8x16_t bit = vdupq_n_u8(static_cast<std::uint8_t>(1u << c));
    // -4 where the high bit is clear, 0 where it is set.
    const auto minus = [&](int half) {
      return vbicq_s8(vdupq_n_s8(-4), s8(vtstq_u8(vld1q_u8(w + 16 * half), bit)));
    };
    return {vaddq_s8(low.lo, minus(0)), vaddq_s8(low.hi, minus(1))};
  }
};

// IQ4_XS: f16 d @0, u16 scales_h @2, scales_l[4] @4, qs[128] @8; chunk c: the low then high
// nibbles of qs[16c ...] through the IQ4_NL codebook; scale ls - 32 per 32 elements.
struct IQ4XS {
  static constexpr int kBytes = 136;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByChunk = false;
  static void begin(const std::uint8_t* w, BlockState& s) {
    const int sh = load_u16(w + 2);
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = ((w[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((sh >> (2 * ib)) & 3) << 4);
      s.sc[2 * ib] = s.sc[2 * ib + 1] = ls - 32;
    }
    s.d = load_f16(w);
  }
  static Chunk chunk(const std::uint8_t* w, int c) {
    const int8x16_t table = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    const uint8x16_t q = vld1q_u8(w + 8 + 16 * c);
    return {vqtbl1q_s8(table, vandq_u8(q, vdupq_n_u8(0x0F))), vqtbl1q_s8(table, vshrq_n_u8(q, 4))};
  }
};

// Codebook types (integer forms as in kernels/ref/q8_matmul_ref.cpp): chunk c is sub-block c,
// its 4 groups of 8 read from the codebook as 4 u64.
inline int8x16_t grid_pair(std::uint64_t g0, std::uint64_t g1) {
  return vreinterpretq_s8_u64(vcombine_u64(vcreate_u64(g0), vcreate_u64(g1)));
}

// IQ2_XXS: f16 d @0, then per sub-block two u32 @2 + 8c: 4 index bytes, 4 × 7 sign bits + ls.
// q = ±grid, scale 2 ls + 1, block scale d / 8.
struct IQ2XXS {
  static constexpr int kBytes = 66;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByChunk = false;
  static void begin(const std::uint8_t* w, BlockState& s) {
    for (int c = 0; c < 8; ++c)
      s.sc[2 * c] = s.sc[2 * c + 1] = static_cast<std::int32_t>(2 * (load_u32(w + 6 + 8 * c) >> 28) + 1);
    s.d = load_f16(w) * 0.125f;
  }
  static Chunk chunk(const std::uint8_t* w, int c) {
    const std::uint32_t idx = load_u32(w + 2 + 8 * c), sb = load_u32(w + 6 + 8 * c);
    const auto half = [&](int g) {
      const int8x16_t mag = grid_pair(kIq2xxsGrid[(idx >> (8 * g)) & 0xFF], kIq2xxsGrid[(idx >> (8 * g + 8)) & 0xFF]);
      const int8x16_t neg = grid_pair(kIq2SignMasks[(sb >> (7 * g)) & 127u], kIq2SignMasks[(sb >> (7 * g + 7)) & 127u]);
      return vsubq_s8(veorq_s8(mag, neg), neg);  // two's complement negation where neg = -1
    };
    return {half(0), half(2)};
  }
};

// IQ1_S / IQ1_M: q = 8 · grid ± 1 (grid bytes -1, 0, 1); `neg01` / `neg23` are 0xFF in the
// bytes whose group has the negative shift.
inline int8x16_t iq1_levels(std::uint32_t i0, std::uint32_t i1, int8x16_t shift_neg) {
  const int8x16_t g = grid_pair(kIq1sGrid[i0], kIq1sGrid[i1]);
  return vaddq_s8(vshlq_n_s8(g, 3), vorrq_s8(shift_neg, vdupq_n_s8(1)));
}

// IQ1_S: f16 d @0, qs[32] @2, u16 qh[8] @34 (3 index bits per group, ls in bits 12-14, shift
// sign in bit 15); scale 2 ls + 1 per sub-block, block scale d / 8.
struct IQ1S {
  static constexpr int kBytes = 50;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByChunk = false;
  static void begin(const std::uint8_t* w, BlockState& s) {
    for (int c = 0; c < 8; ++c)
      s.sc[2 * c] = s.sc[2 * c + 1] = 2 * ((load_u16(w + 34 + 2 * c) >> 12) & 7) + 1;
    s.d = load_f16(w) * 0.125f;
  }
  static Chunk chunk(const std::uint8_t* w, int c) {
    const unsigned qh = load_u16(w + 34 + 2 * c);
    const std::uint8_t* qs = w + 2 + 4 * c;
    const int8x16_t neg = vdupq_n_s8((qh & 0x8000u) ? -1 : 0);
    return {iq1_levels(qs[0] | ((qh & 7u) << 8), qs[1] | (((qh >> 3) & 7u) << 8), neg),
            iq1_levels(qs[2] | (((qh >> 6) & 7u) << 8), qs[3] | (((qh >> 9) & 7u) << 8), neg)};
  }
};

// IQ1_M: qs[32] @0, qh[16] @32 (per group: 3 index bits, then the shift sign), 4 u16 scale
// words @48 (3-bit scale per 16 elements; top nibbles = d's f16 bits); block scale d / 8.
struct IQ1M {
  static constexpr int kBytes = 56;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByChunk = false;
  static void begin(const std::uint8_t* w, BlockState& s) {
    std::uint16_t d_bits = 0;
    for (int k = 0; k < 4; ++k) {
      const unsigned word = load_u16(w + 48 + 2 * k);
      d_bits = static_cast<std::uint16_t>(d_bits | ((word >> 12) << (4 * k)));
      for (int h = 0; h < 4; ++h) s.sc[4 * k + h] = static_cast<std::int32_t>(2 * ((word >> (3 * h)) & 7) + 1);
    }
    std::uint8_t d_bytes[2];
    std::memcpy(d_bytes, &d_bits, 2);
    s.d = load_f16(d_bytes) * 0.125f;
  }
  static Chunk chunk(const std::uint8_t* w, int c) {
    const unsigned h01 = w[32 + 2 * c], h23 = w[33 + 2 * c];
    const std::uint8_t* qs = w + 4 * c;
    const auto neg = [](unsigned nib) -> std::uint64_t { return (nib & 8u) ? ~0ULL : 0ULL; };
    return {iq1_levels(qs[0] | ((h01 & 7u) << 8), qs[1] | (((h01 >> 4) & 7u) << 8),
                       grid_pair(neg(h01), neg(h01 >> 4))),
            iq1_levels(qs[2] | ((h23 & 7u) << 8), qs[3] | (((h23 >> 4) & 7u) << 8),
                       grid_pair(neg(h23), neg(h23 >> 4)))};
  }
};

// Min lane j of the contract: Σ_{g = 4j..4j+3} m(g) · xsum16(g), exact in int32.
inline int32x4_t min_lanes(const BlockState& s, const std::int16_t* xs) {
  const int32x4_t p0 = vmull_s16(vget_low_s16(s.m_lo), vld1_s16(xs));
  const int32x4_t p1 = vmull_high_s16(s.m_lo, vld1q_s16(xs));
  const int32x4_t p2 = vmull_s16(vget_low_s16(s.m_hi), vld1_s16(xs + 8));
  const int32x4_t p3 = vmull_high_s16(s.m_hi, vld1q_s16(xs + 8));
  return vpaddq_s32(vpaddq_s32(p0, p1), vpaddq_s32(p2, p3));
}

// (kLanesByChunk) The contract's lanes 2j, 2j+1 of a Q4_K / Q5_K block are the 4-element groups
// of even and odd (i / 4) in chunks 2j, 2j+1. Lane m of dot32 holds groups m and 4 + m of its
// chunk, both of parity m mod 2, so the scaled sum of the two chunks folds to those two lanes.
inline int32x2_t fold_parity(int32x4_t v) { return vadd_s32(vget_low_s32(v), vget_high_s32(v)); }

// One weight row × TT tokens from t0 over all super-blocks; each unpacked chunk is reused for
// the TT tokens.
template <class T, int TT>
void tile(const Q8MatmulArgs& a, std::int64_t r, std::int64_t t0) {
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* row = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  float32x4_t acc_lo[TT], acc_hi[TT], mins[TT];
#pragma GCC unroll 4
  for (int t = 0; t < TT; ++t) acc_lo[t] = acc_hi[t] = mins[t] = vdupq_n_f32(0.0f);
  BlockState st;
  for (std::int64_t b = 0; b < nb; ++b) {
    const std::uint8_t* w = row + b * T::kBytes;
    T::begin(w, st);
    int32x4_t lo[TT], hi[TT];  // the contract's lanes 0-3 and 4-7
    // kLanesByChunk: the scaled sum of chunks 2j, 2j+1 so far; lanes 0-1 (4-5) once folded.
    int32x4_t pair[TT];
    int32x2_t first[TT];
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t) lo[t] = hi[t] = pair[t] = vdupq_n_s32(0);
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      const Chunk q = T::chunk(w, c);
#pragma GCC unroll 4
      for (int t = 0; t < TT; ++t) {
        const std::int8_t* x = a.x_qs + (t0 + t) * a.cols + 256 * b + 32 * c;
        if constexpr (T::kLanesByChunk) {
          // One scale per chunk (sc[2c] = sc[2c+1]); lanes 0-3 are complete after chunk 3.
          pair[t] = vmlaq_n_s32(c % 2 == 0 ? vdupq_n_s32(0) : pair[t], dot32(q, x), st.sc[2 * c]);
          if (c % 4 == 1) first[t] = fold_parity(pair[t]);
          if (c == 3) lo[t] = vcombine_s32(first[t], fold_parity(pair[t]));
          if (c == 7) hi[t] = vcombine_s32(first[t], fold_parity(pair[t]));
        } else {
          lo[t] = vmlaq_n_s32(lo[t], dot16(q.lo, load_s8(x)), st.sc[2 * c]);
          hi[t] = vmlaq_n_s32(hi[t], dot16(q.hi, load_s8(x + 16)), st.sc[2 * c + 1]);
        }
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t) {
      const float dx = a.x_d[(t0 + t) * nb + b];
      const float dd = st.d * dx;
      acc_lo[t] = vfmaq_n_f32(acc_lo[t], vcvtq_f32_s32(lo[t]), dd);
      acc_hi[t] = vfmaq_n_f32(acc_hi[t], vcvtq_f32_s32(hi[t]), dd);
      if constexpr (T::kHasMin) {
        const int32x4_t m = min_lanes(st, a.x_sums16 + (t0 + t) * (a.cols / 16) + 16 * b);
        mins[t] = vfmaq_n_f32(mins[t], vcvtq_f32_s32(m), st.dmin * dx);
      }
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < TT; ++t) a.y[(t0 + t) * a.y_stride + r] = contract_sum(acc_lo[t], acc_hi[t], mins[t]);
}

template <class T>
void run(const Q8MatmulArgs& a) {
  for_each_tile<4>(a, [&](auto tt, std::int64_t r, std::int64_t t) { tile<T, decltype(tt)::value>(a, r, t); });
}

}  // namespace

void matmul_q4_k(const Q8MatmulArgs& a) { run<Q45K<false>>(a); }
void matmul_q5_k(const Q8MatmulArgs& a) { run<Q45K<true>>(a); }
void matmul_q6_k(const Q8MatmulArgs& a) { run<Q6K>(a); }
void matmul_q2_k(const Q8MatmulArgs& a) { run<Q2K>(a); }
void matmul_q3_k(const Q8MatmulArgs& a) { run<Q3K>(a); }
void matmul_iq4_xs(const Q8MatmulArgs& a) { run<IQ4XS>(a); }
void matmul_iq2_xxs(const Q8MatmulArgs& a) { run<IQ2XXS>(a); }
void matmul_iq1_s(const Q8MatmulArgs& a) { run<IQ1S>(a); }
void matmul_iq1_m(const Q8MatmulArgs& a) { run<IQ1M>(a); }

}  // namespace whale::WHALE_NEON_NS
