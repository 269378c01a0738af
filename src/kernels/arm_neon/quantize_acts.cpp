// quantize_acts.cpp — NEON activation quantizer giving exactly the reference quantizer's values
// (quant_ref::quantize_q8_0 / quantize_q8_k): the same max search, the same f32 scale
// arithmetic and the same rounding (FCVTAS is lround's ties-away, FCVTNS nearbyint's
// ties-to-even), vectorised. Baseline AArch64: compiled without +dotprod.
#include "kernels/arm_neon/neon_kernels.h"
#include "kernels/arm_neon/neon_util.h"

namespace whale::neon {
namespace {

inline float amax_of(const float* x, int n) {
  float32x4_t m = vdupq_n_f32(0.0f);
  for (int i = 0; i < n; i += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + i)));
  return vmaxvq_f32(m);
}

// 16 int32 (in [-128, 128]) to 16 int8, saturating (the Q8_K reference clamps 128 to 127).
inline int8x16_t narrow(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int16x8_t ab = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
  const int16x8_t cd = vcombine_s16(vqmovn_s32(c), vqmovn_s32(d));
  return vcombine_s8(vqmovn_s16(ab), vqmovn_s16(cd));
}

// 16 quants of x · scale, rounded by `round` (FCVTAS or FCVTNS).
template <class Round>
inline int8x16_t quantize16(const float* x, float scale, Round round) {
  return narrow(round(vmulq_n_f32(vld1q_f32(x), scale)), round(vmulq_n_f32(vld1q_f32(x + 4), scale)),
                round(vmulq_n_f32(vld1q_f32(x + 8), scale)), round(vmulq_n_f32(vld1q_f32(x + 12), scale)));
}

void quantize_q8_0_row(const float* x, std::int64_t cols, std::int8_t* qs, float* d,
                       std::int16_t* sums16) {
  const auto ties_away = [](float32x4_t v) { return vcvtaq_s32_f32(v); };
  for (std::int64_t b = 0; b < cols / 32; ++b) {
    const float* xb = x + 32 * b;
    const float scale = amax_of(xb, 32) / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    // The stored scale is f16 (FCVT rounds to nearest even, as f32_to_f16); the quants use the
    // unrounded one.
    d[b] = vgetq_lane_f32(vcvt_f32_f16(vcvt_f16_f32(vdupq_n_f32(scale))), 0);
    for (int h = 0; h < 2; ++h) {
      const int8x16_t q = quantize16(xb + 16 * h, inv, ties_away);
      vst1q_s8(qs + 32 * b + 16 * h, q);
      sums16[2 * b + h] = vaddlvq_s8(q);
    }
  }
}

void quantize_q8_k_row(const float* x, std::int64_t cols, std::int8_t* qs, float* d,
                       std::int16_t* sums16) {
  const auto ties_even = [](float32x4_t v) { return vcvtnq_s32_f32(v); };
  for (std::int64_t b = 0; b < cols / 256; ++b) {
    const float* xb = x + 256 * b;
    const float amax = amax_of(xb, 256);
    if (amax == 0.0f) {
      d[b] = 0.0f;
      for (int i = 0; i < 256; i += 16) vst1q_s8(qs + 256 * b + i, vdupq_n_s8(0));
      for (int j = 0; j < 16; ++j) sums16[16 * b + j] = 0;
      continue;
    }
    // The signed value of the first element of largest magnitude (as signed_absmax).
    float max = 0.0f;
    for (int i = 0; i < 256; ++i)
      if ((xb[i] < 0.0f ? -xb[i] : xb[i]) == amax) {
        max = xb[i];
        break;
      }
    const float iscale = -127.0f / max;
    for (int j = 0; j < 16; ++j) {
      const int8x16_t q = quantize16(xb + 16 * j, iscale, ties_even);
      vst1q_s8(qs + 256 * b + 16 * j, q);
      sums16[16 * b + j] = vaddlvq_s8(q);
    }
    d[b] = 1.0f / iscale;
  }
}

}  // namespace

void quantize_act_row(bool q8_k, const float* x, std::int64_t cols, std::int8_t* qs, float* d,
                      std::int16_t* sums16) {
  if (q8_k)
    quantize_q8_k_row(x, cols, qs, d, sums16);
  else
    quantize_q8_0_row(x, cols, qs, d, sums16);
}

}  // namespace whale::neon
