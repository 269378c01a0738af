// legacy_matmul.cpp — NEON integer matmul for the 32-element block types (Q8_0, Q4_0, Q4_1,
// Q5_0, Q5_1, IQ4_NL) × Q8_0 activations: each block is unpacked in registers to 32 int8
// levels (elements 0-15 in one vector, 16-31 in the other) and each half multiplied with a
// dot16. Q8_0 has the contract's lanes by position: the halves are int32 lanes 0-3 and 4-7, one
// fma per lane and block with d_w · d_x. The nibble types have lanes by nibble byte
// (Q8Lanes::kByNibbleByte in kernels/q8_matmul.h): elements j and j + 16 share lane j / 4, so
// the two halves' products add into the same 4 int32 lanes (dot32) and a block takes one convert
// and one fma; lanes 4-7 stay +0. Results follow the contract of kernels/q8_matmul.h bit for
// bit (the min term of Q4_1 / Q5_1 lands in min lane 0: its one 32-element group pair is groups
// 0 and 1).
#include "kernels/arm_neon/neon_kernels.h"
#include "kernels/arm_neon/neon_util.h"

namespace whale::WHALE_NEON_NS {
namespace {

// Element j in the low nibble of qs[j], j + 16 in the high nibble: levels 0..15 in order.
inline Chunk nibbles(const std::uint8_t* qs) {
  const uint8x16_t q = vld1q_u8(qs);
  return {vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))), vreinterpretq_s8_u8(vshrq_n_u8(q, 4))};
}

// Bits 0-15 (lo) and 16-31 (hi) of the little-endian u32 at p as 0x10 in byte j: the fifth
// bit of Q5 levels.
inline Chunk fifth_bits(const std::uint8_t* p) {
  const uint8x16_t bit = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const auto spread = [&](std::uint8_t b0, std::uint8_t b1) {
    const uint8x16_t v = vcombine_u8(vdup_n_u8(b0), vdup_n_u8(b1));
    return vreinterpretq_s8_u8(vandq_u8(vtstq_u8(v, bit), vdupq_n_u8(0x10)));
  };
  return {spread(p[0], p[1]), spread(p[2], p[3])};
}

inline Chunk add(Chunk c, std::int8_t k) {
  return {vaddq_s8(c.lo, vdupq_n_s8(k)), vaddq_s8(c.hi, vdupq_n_s8(k))};
}

inline Chunk or_bits(Chunk c, Chunk bits) { return {vorrq_s8(c.lo, bits.lo), vorrq_s8(c.hi, bits.hi)}; }

struct Unpacked {
  Chunk q;  // 32 signed levels
  float d;
  float m;  // the min (Q4_1 / Q5_1), else unused
};

// Q8_0 keeps lanes by position: its levels are stored in order, not as nibble pairs.
struct Q8_0 {
  static constexpr int kBytes = 34;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByNibbleByte = false;
  static Unpacked unpack(const std::uint8_t* p) {
    const auto* q = reinterpret_cast<const std::int8_t*>(p + 2);
    return {{vld1q_s8(q), vld1q_s8(q + 16)}, load_f16(p), 0.0f};
  }
};
struct Q4_0 {
  static constexpr int kBytes = 18;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByNibbleByte = true;
  static Unpacked unpack(const std::uint8_t* p) { return {add(nibbles(p + 2), -8), load_f16(p), 0.0f}; }
};
struct Q4_1 {
  static constexpr int kBytes = 20;
  static constexpr bool kHasMin = true;
  static constexpr bool kLanesByNibbleByte = true;
  static Unpacked unpack(const std::uint8_t* p) { return {nibbles(p + 4), load_f16(p), load_f16(p + 2)}; }
};
struct Q5_0 {
  static constexpr int kBytes = 22;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByNibbleByte = true;
  static Unpacked unpack(const std::uint8_t* p) {
    return {add(or_bits(nibbles(p + 6), fifth_bits(p + 2)), -16), load_f16(p), 0.0f};
  }
};
struct Q5_1 {
  static constexpr int kBytes = 24;
  static constexpr bool kHasMin = true;
  static constexpr bool kLanesByNibbleByte = true;
  static Unpacked unpack(const std::uint8_t* p) {
    return {or_bits(nibbles(p + 8), fifth_bits(p + 4)), load_f16(p), load_f16(p + 2)};
  }
};
struct IQ4_NL {
  static constexpr int kBytes = 18;
  static constexpr bool kHasMin = false;
  static constexpr bool kLanesByNibbleByte = true;
  static Unpacked unpack(const std::uint8_t* p) {
    const int8x16_t table = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    const Chunk idx = nibbles(p + 2);
    return {{vqtbl1q_s8(table, vreinterpretq_u8_s8(idx.lo)), vqtbl1q_s8(table, vreinterpretq_u8_s8(idx.hi))},
            load_f16(p), 0.0f};
  }
};

// One weight row × TT tokens from t0, all blocks; each unpacked block is reused for TT tokens.
template <class T, int TT>
void tile(const Q8MatmulArgs& a, std::int64_t r, std::int64_t t0) {
  const std::int64_t nb = a.cols / 32;
  const std::uint8_t* w = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  float32x4_t acc_lo[TT], acc_hi[TT], mins[TT];
#pragma GCC unroll 4
  for (int t = 0; t < TT; ++t) acc_lo[t] = acc_hi[t] = mins[t] = vdupq_n_f32(0.0f);
  for (std::int64_t b = 0; b < nb; ++b) {
    const Unpacked u = T::unpack(w + b * T::kBytes);
#pragma GCC unroll 4
    for (int t = 0; t < TT; ++t) {
      const std::int64_t tok = t0 + t;
      const std::int8_t* x = a.x_qs + tok * a.cols + 32 * b;
      const float dx = a.x_d[tok * nb + b];
      // d_w · d_x rounded once, the same f32 product as the scalar reference.
      const float dd = u.d * dx;
      if constexpr (T::kLanesByNibbleByte) {
        // Lane k = elements 4k..4k+3 and 16+4k..16+4k+3, both halves summed exactly in int32;
        // acc_hi stays +0, so contract_sum's acc_lo + acc_hi is acc_lo (no acc is ever −0).
        acc_lo[t] = vfmaq_n_f32(acc_lo[t], vcvtq_f32_s32(dot32(u.q, x)), dd);
      } else {
        acc_lo[t] = vfmaq_n_f32(acc_lo[t], vcvtq_f32_s32(dot16(u.q.lo, load_s8(x))), dd);
        acc_hi[t] = vfmaq_n_f32(acc_hi[t], vcvtq_f32_s32(dot16(u.q.hi, load_s8(x + 16))), dd);
      }
      if constexpr (T::kHasMin) {
        const std::int16_t* xs = a.x_sums16 + tok * (a.cols / 16) + 2 * b;
        // Min lane 0 holds groups 0 and 1; lanes 1-3 get fma(dm, 0, 0), as in the reference.
        const float32x4_t xsum = {static_cast<float>(xs[0] + xs[1]), 0.0f, 0.0f, 0.0f};
        mins[t] = vfmaq_n_f32(mins[t], xsum, u.m * dx);
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

void matmul_q8_0(const Q8MatmulArgs& a) { run<Q8_0>(a); }
void matmul_q4_0(const Q8MatmulArgs& a) { run<Q4_0>(a); }
void matmul_q4_1(const Q8MatmulArgs& a) { run<Q4_1>(a); }
void matmul_q5_0(const Q8MatmulArgs& a) { run<Q5_0>(a); }
void matmul_q5_1(const Q8MatmulArgs& a) { run<Q5_1>(a); }
void matmul_iq4_nl(const Q8MatmulArgs& a) { run<IQ4_NL>(a); }

}  // namespace whale::WHALE_NEON_NS
