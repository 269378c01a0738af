// neon_util.h — small NEON helpers for this folder's translation units only. Everything here
// has internal linkage (anonymous namespace), so no +dotprod code can be merged by the linker
// into a translation unit built for baseline AArch64 (the ODR hazard of shared inline code).
//
// The integer matmul kernels are compiled twice: plain NEON (namespace whale::neon) and, from
// the wrappers in ../arm_neon_dotprod/, with WHALE_NEON_DOTPROD defined and +dotprod enabled
// (namespace whale::neon_dotprod). Both compute the same int32 lane sums, so results are
// bit-identical to the scalar reference (the contract in kernels/q8_matmul.h).
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/q8_matmul_args.h"
#include "kernels/tile_walk.h"

#ifndef WHALE_NEON_NS
#define WHALE_NEON_NS neon
#endif

namespace whale::WHALE_NEON_NS {
namespace {

// Σ over each 4 consecutive bytes of a · b: lane k = bytes 4k..4k+3, which for the two
// 16-byte halves of a 32-element chunk are the contract's lanes k and 4 + k. sdot computes it
// in one instruction; without it, int16 products (|a · b| ≤ 128 · 128, exact) are summed in
// pairs into int32 and then pairs of pairs.
inline int32x4_t dot16(int8x16_t a, int8x16_t b) {
#if defined(WHALE_NEON_DOTPROD)
  return vdotq_s32(vdupq_n_s32(0), a, b);
#else
  const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
  const int16x8_t hi = vmull_high_s8(a, b);
  return vpaddq_s32(vpaddlq_s16(lo), vpaddlq_s16(hi));
#endif
}

// A 32-element chunk as int8 levels: elements 0-15 in lo, 16-31 in hi.
struct Chunk {
  int8x16_t lo, hi;
};

// dot16(q.lo, x) + dot16(q.hi, x + 16): lane k = the chunk's elements 4k..4k+3 and
// 16+4k..16+4k+3, for types whose two halves share a lane (Q8Lanes::kByChunk,
// kByNibbleByte). sdot adds the second half into the first's sum; without it, the halves'
// byte-pair sums are added before the last pairwise step, saving that step and an add.
inline int32x4_t dot32(const Chunk& q, const std::int8_t* x) {
  const int8x16_t x0 = vld1q_s8(x), x1 = vld1q_s8(x + 16);
#if defined(WHALE_NEON_DOTPROD)
  return vdotq_s32(vdotq_s32(vdupq_n_s32(0), q.lo, x0), q.hi, x1);
#else
  const int32x4_t a = vpadalq_s16(vpaddlq_s16(vmull_s8(vget_low_s8(q.lo), vget_low_s8(x0))),
                                  vmull_s8(vget_low_s8(q.hi), vget_low_s8(x1)));
  const int32x4_t b = vpadalq_s16(vpaddlq_s16(vmull_high_s8(q.lo, x0)), vmull_high_s8(q.hi, x1));
  return vpaddq_s32(a, b);
#endif
}

// An f16 field at p (any alignment), widened exactly (FCVT).
inline float load_f16(const std::uint8_t* p) {
  __fp16 h;
  std::memcpy(&h, p, 2);
  return static_cast<float>(h);
}

inline std::uint16_t load_u16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

inline std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline const std::uint8_t* bytes(const std::byte* p) {
  return reinterpret_cast<const std::uint8_t*>(p);
}

inline int8x16_t load_s8(const std::int8_t* p) { return vld1q_s8(p); }

// The contract's final sum for one output: lo = acc lanes 0-3, hi = acc lanes 4-7, mins = the
// four min lanes (zeros for types without mins):
// ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7)) + ((m0 + m2) + (m1 + m3)).
inline float contract_sum(float32x4_t lo, float32x4_t hi, float32x4_t mins) {
  const float32x4_t s = vaddq_f32(lo, hi);
  const float tree = (vgetq_lane_f32(s, 0) + vgetq_lane_f32(s, 2)) +
                     (vgetq_lane_f32(s, 1) + vgetq_lane_f32(s, 3));
  const float m = (vgetq_lane_f32(mins, 0) + vgetq_lane_f32(mins, 2)) +
                  (vgetq_lane_f32(mins, 1) + vgetq_lane_f32(mins, 3));
  return tree + m;
}

}  // namespace
}  // namespace whale::WHALE_NEON_NS
