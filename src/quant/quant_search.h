// quant_search.h — least-squares searches for a sub-block's scale (and min) at a given number
// of integer levels; the shared core of the K-quant and IQ4 reference quantizers.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

namespace whale::quant_ref {

// Magnitudes at or below this quantize to an all-zero block (avoids 1/0 scales).
inline constexpr float kTinyAbs = 1e-30f;

// Both searches fit every sub-block of one K-quant super-block at once: x holds n_sub
// consecutive sub-blocks of sub_len elements (16 x 16 or 8 x 32 = 256), q gets each element's
// level in the same order, and scales[j] / out[j] sub-block j's fit. Each sub-block's search is
// independent of the others; they run side by side only for speed (quant_search.cpp).

// Symmetric: x ≈ scale * q with integer q in [-nmax, nmax - 1]. Tries inverse scales that map
// the signed absolute maximum near -nmax (19 steps of 0.1 level), solves least squares for each
// level assignment, keeps the best and refines it up to 4 times; the scale may be negative.
// All-tiny sub-blocks (|x| <= kTinyAbs) get scale 0 and levels 0.
void fit_symmetric_blocks(const float* x, int n_sub, int sub_len, int nmax, int* q, float* scales);

// With a min: x ≈ scale * q - min with integer q in [0, nmax], scale >= 0 and min >= 0 (ggml's
// "min" is subtracted, so the representable range always includes 0). The same 19-step grid
// over the range [min(x, 0), max(x)] and refinement, minimising the squared error.
struct ScaleAndMin {
  float scale = 0.0f;
  float min = 0.0f;
};
void fit_scale_min_blocks(const float* x, int n_sub, int sub_len, int nmax, int* q,
                          ScaleAndMin* out);

// The two searches above run an AVX2 copy on CPUs that have it (chosen once, on first use;
// 1.2-1.5x) and these portable ones elsewhere. Exposed so a test can check both give the same
// bits on one machine.
void fit_symmetric_blocks_portable(const float* x, int n_sub, int sub_len, int nmax, int* q,
                                   float* scales);
void fit_scale_min_blocks_portable(const float* x, int n_sub, int sub_len, int nmax, int* q,
                                   ScaleAndMin* out);

// x ≈ scale * levels[q] with q an index into the 16 strictly ascending integer `levels`
// (non-uniform grids such as IQ4_NL's), for n_sub (1 or 8) consecutive sub-blocks of 32: tries
// inverse scales that map the signed absmax onto the widest level and 18 levels either side,
// scores each assignment by least squares, refines up to 4 times; scales[j] gets sub-block j's
// scale (0 for an all-tiny sub-block). Runs an AVX2 copy where the CPU has it, like the above.
void fit_nonuniform_blocks(const float* x, int n_sub, std::span<const std::int8_t> levels,
                           float* scales);
void fit_nonuniform_blocks_portable(const float* x, int n_sub, std::span<const std::int8_t> levels,
                                    float* scales);

// Index of the level nearest to v, the lower one on ties (levels: strictly ascending integers).
int nearest_level(float v, std::span<const std::int8_t> levels);

// Round half to even, as ggml's reference quantizers round. Inline: it runs for every element
// of every trial of the searches. Below 2^22 in magnitude, adding and subtracting 1.5 * 2^23
// rounds to an integer in the default rounding mode (the sum lies in [2^23, 2^24), where floats
// are exactly the integers) — what nearbyint does, without the library call; larger values,
// infinities and NaN take nearbyint itself.
inline int round_int(float v) {
  if (std::fabs(v) < 0x1p22f) return static_cast<int>((v + 0x1.8p23f) - 0x1.8p23f);
  return static_cast<int>(std::nearbyint(v));
}

// The element with the largest magnitude, sign kept (the first on ties).
float signed_absmax(std::span<const float> x);

}  // namespace whale::quant_ref
