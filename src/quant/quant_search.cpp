// quant_search.cpp — least-squares scale / min searches shared by the reference quantizers.
#include "quant/quant_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/check.h"

namespace whale::quant_ref {
namespace {

// Candidate inverse scales are the nominal one stretched by (nmax + step / 10) / nmax: a small
// grid around the absmax mapping that finds better level assignments for most blocks.
constexpr int kSteps = 9;
constexpr int kRefineIters = 4;

double sq(double v) { return v * v; }

}  // namespace

float signed_absmax(std::span<const float> x) {
  float amax = 0.0f, max = 0.0f;
  for (float v : x) {
    if (amax < std::fabs(v)) {
      amax = std::fabs(v);
      max = v;
    }
  }
  return max;
}

// The batched searches below keep every sub-block's search exactly as described in
// quant_search.h, but hold the super-block transposed, [element i][sub-block b], so that each
// step of the search runs over all B sub-blocks at once: the sums over i stay sequential per
// sub-block (bit-identical to the one-sub-block search), while the B independent chains fill
// the vector lanes and the pipeline. Sums of integer levels are exact in any order, so they are
// taken in int.
namespace {

constexpr float kRoundMagic = 0x1.8p23f;  // see round_int

// Levels for one trial: out[i][b] = clamp(round(v[i][b]), lo, hi), v computed by `value`.
// Returns false when some |v| >= 2^22 (or NaN), where the fast rounding does not apply; the
// caller then redoes the trial with round_int.
template <int N, int B, class Value>
[[gnu::always_inline]] inline bool assign_fast(int lo, int hi, Value value, int (&out)[N][B]) {
  int bad = 0;
  for (int i = 0; i < N; ++i)
    for (int b = 0; b < B; ++b) {
      const float v = value(i, b);
      bad |= !(std::fabs(v) < 0x1p22f);
      float r = (v + kRoundMagic) - kRoundMagic;
      r = std::min(std::max(r, static_cast<float>(lo)), static_cast<float>(hi));
      out[i][b] = static_cast<int>(r);
    }
  return bad == 0;
}

template <int N, int B, class Value>
[[gnu::always_inline]] inline void assign(int lo, int hi, Value value, int (&out)[N][B]) {
  if (assign_fast<N, B>(lo, hi, value, out)) return;
  for (int i = 0; i < N; ++i)
    for (int b = 0; b < B; ++b) out[i][b] = std::clamp(round_int(value(i, b)), lo, hi);
}

// Copies lane b of trial into q (q row-major [B][N]) for the lanes where take[b].
template <int N, int B>
[[gnu::always_inline]] inline void take_lanes(const int (&trial)[N][B], const bool (&take)[B],
                                              int* q) {
  for (int b = 0; b < B; ++b)
    if (take[b])
      for (int i = 0; i < N; ++i) q[b * N + i] = trial[i][b];
}

// The refinement both scale searches end with: every sub-block that is still improving retries
// with the reciprocal of its best scale; a trial that does not improve ends that sub-block's
// refinement. `trial()` fills s[] and scale[] for the current iscale[]; `improved(mask)` is
// called after best/best_scale took the improved lanes.
template <int B, class Trial, class Improved>
[[gnu::always_inline]] inline void refine_scales(const bool (&live)[B], double (&best)[B],
                                                 double (&best_scale)[B], float (&iscale)[B],
                                                 const double (&s)[B], const double (&scale)[B],
                                                 Trial trial, Improved improved) {
  bool active[B];
  for (int b = 0; b < B; ++b) active[b] = live[b];
  for (int it = 0; it < kRefineIters; ++it) {
    bool any = false;
    for (int b = 0; b < B; ++b) {
      active[b] = active[b] && best_scale[b] != 0;
      iscale[b] = active[b] ? static_cast<float>(1.0 / best_scale[b]) : 0.0f;
      any = any || active[b];
    }
    if (!any) break;
    trial();
    for (int b = 0; b < B; ++b) {
      active[b] = active[b] && s[b] > best[b];
      if (active[b]) best[b] = s[b], best_scale[b] = scale[b];
    }
    improved(active);
  }
}

template <int N, int B>
[[gnu::always_inline]] inline void fit_symmetric_batch(const float* x, int nmax, int* q,
                                                       float* scales) {
  float xf[N][B];   // x transposed, f32 (the levels are assigned in f32)
  double xd[N][B];  // x transposed, f64 (the sums are taken in f64)
  float max[B];
  bool live[B];  // not an all-zero sub-block
  for (int b = 0; b < B; ++b) {
    for (int i = 0; i < N; ++i) {
      xf[i][b] = x[b * N + i];
      xd[i][b] = x[b * N + i];
    }
    max[b] = signed_absmax({x + b * N, static_cast<std::size_t>(N)});
    live[b] = std::fabs(max[b]) > kTinyAbs;
    if (!live[b]) std::fill(q + b * N, q + b * N + N, 0);
  }
  int trial[N][B];
  float iscale[B];
  double best[B], best_scale[B], s[B], scale[B];
  bool take[B];
  // Least-squares scale for fixed levels; the error reduction is sumlx^2 / suml2.
  const auto score = [&] {
    double sumlx[B] = {};
    int suml2[B] = {};
    for (int i = 0; i < N; ++i)
      for (int b = 0; b < B; ++b) {
        sumlx[b] += xd[i][b] * trial[i][b];
        suml2[b] += trial[i][b] * trial[i][b];
      }
    for (int b = 0; b < B; ++b) {
      const double l2 = suml2[b];
      scale[b] = l2 > 0 ? sumlx[b] / l2 : 0.0;
      s[b] = l2 > 0 ? sumlx[b] * sumlx[b] / l2 : 0.0;
    }
  };
  const auto levels = [&](int i, int b) { return iscale[b] * xf[i][b]; };
  for (int b = 0; b < B; ++b) best[b] = -1, best_scale[b] = 0;
  for (int step = -kSteps; step <= kSteps; ++step) {
    for (int b = 0; b < B; ++b)
      iscale[b] =
          live[b] ? -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max[b] : 0.0f;
    assign<N, B>(-nmax, nmax - 1, levels, trial);
    score();
    for (int b = 0; b < B; ++b) {
      take[b] = live[b] && s[b] > best[b];
      if (take[b]) best[b] = s[b], best_scale[b] = scale[b];
    }
    take_lanes<N, B>(trial, take, q);
  }
  refine_scales<B>(
      live, best, best_scale, iscale, s, scale,
      [&] {
        assign<N, B>(-nmax, nmax - 1, levels, trial);
        score();
      },
      [&](const bool (&improved)[B]) { take_lanes<N, B>(trial, improved, q); });
  for (int b = 0; b < B; ++b) scales[b] = live[b] ? static_cast<float>(best_scale[b]) : 0.0f;
}

template <int N, int B>
[[gnu::always_inline]] inline void fit_scale_min_batch(const float* x, int nmax, int* q,
                                                       ScaleAndMin* out) {
  double xd[N][B];  // x transposed
  float lo[B], hi[B];
  double sx[B] = {};  // invariant over the trials; summed in element order
  bool live[B];       // not a constant sub-block
  for (int b = 0; b < B; ++b) {
    lo[b] = 0.0f, hi[b] = -std::numeric_limits<float>::max();
    for (int i = 0; i < N; ++i) {
      const float v = x[b * N + i];
      xd[i][b] = v;
      lo[b] = std::min(lo[b], v);
      hi[b] = std::max(hi[b], v);
      sx[b] += v;
    }
    live[b] = !(hi[b] - lo[b] <= kTinyAbs);
    if (!live[b]) std::fill(q + b * N, q + b * N + N, 0);
  }
  const double n = N;
  int trial[N][B];
  double iscale[B], offset[B], err[B], a[B], c[B];
  // Least squares for x ≈ a * q + c with c <= 0; err gets the squared error.
  const auto solve = [&] {
    double sxq[B] = {};
    int sq_[B] = {}, sq2[B] = {};
    for (int i = 0; i < N; ++i)
      for (int b = 0; b < B; ++b) {
        sq_[b] += trial[i][b];
        sq2[b] += trial[i][b] * trial[i][b];
        sxq[b] += xd[i][b] * trial[i][b];
      }
    for (int b = 0; b < B; ++b) {
      const double s1 = sq_[b], s2 = sq2[b];
      const double det = n * s2 - s1 * s1;
      if (det > 0) {
        a[b] = (n * sxq[b] - s1 * sx[b]) / det;
        c[b] = (s2 * sx[b] - s1 * sxq[b]) / det;
      } else {
        a[b] = 0;
        c[b] = sx[b] / n;
      }
      if (c[b] > 0 ||
          a[b] < 0) {  // the format cannot represent a positive offset or negative scale
        c[b] = std::min(c[b], 0.0);
        a[b] = s2 > 0 ? std::max(0.0, (sxq[b] - c[b] * s1) / s2) : 0.0;
      }
    }
    double e[B] = {};
    for (int i = 0; i < N; ++i)
      for (int b = 0; b < B; ++b) e[b] += sq(a[b] * trial[i][b] + c[b] - xd[i][b]);
    std::copy(e, e + B, err);
  };
  const auto levels = [&](int i, int b) {
    return static_cast<float>(iscale[b] * (xd[i][b] - offset[b]));
  };
  double best[B], best_a[B], best_c[B];
  bool take[B];
  for (int b = 0; b < B; ++b)
    best[b] = std::numeric_limits<double>::infinity(), best_a[b] = 0, best_c[b] = lo[b];
  for (int step = -kSteps; step <= kSteps; ++step) {
    for (int b = 0; b < B; ++b) {
      iscale[b] = live[b] ? (nmax + 0.1 * step) / (static_cast<double>(hi[b]) - lo[b]) : 0.0;
      offset[b] = lo[b];
    }
    assign<N, B>(0, nmax, levels, trial);
    solve();
    for (int b = 0; b < B; ++b) {
      take[b] = live[b] && err[b] < best[b];
      if (take[b]) best[b] = err[b], best_a[b] = a[b], best_c[b] = c[b];
    }
    take_lanes<N, B>(trial, take, q);
  }
  bool active[B];
  for (int b = 0; b < B; ++b) active[b] = live[b];
  for (int it = 0; it < kRefineIters; ++it) {
    bool any = false;
    for (int b = 0; b < B; ++b) {
      active[b] = active[b] && best_a[b] > 0;
      iscale[b] = active[b] ? 1.0 / best_a[b] : 0.0;
      offset[b] = active[b] ? best_c[b] : 0.0;
      any = any || active[b];
    }
    if (!any) break;
    assign<N, B>(0, nmax, levels, trial);
    solve();
    for (int b = 0; b < B; ++b) {
      take[b] = active[b] && err[b] < best[b];
      active[b] = take[b];  // a trial that does not improve ends that sub-block's refinement
      if (take[b]) best[b] = err[b], best_a[b] = a[b], best_c[b] = c[b];
    }
    take_lanes<N, B>(trial, take, q);
  }
  for (int b = 0; b < B; ++b)
    out[b] = live[b] ? ScaleAndMin{static_cast<float>(best_a[b]), static_cast<float>(-best_c[b])}
                     : ScaleAndMin{0.0f, -lo[b]};
}

// One body per shape, stamped out once for the portable target and once for AVX2. The batch
// templates are always inlined, so each copy is compiled for its caller's target. Only the
// vector width differs: no FMA (it would round differently), and the same IEEE operations in
// the same order, so both give the same bits (QuantSearch.Avx2EqualsPortable).
template <class T>
[[gnu::always_inline]] inline void symmetric_shapes(const float* x, int n_sub, int sub_len,
                                                    int nmax, int* q, T* scales) {
  if (n_sub == 16 && sub_len == 16) return fit_symmetric_batch<16, 16>(x, nmax, q, scales);
  if (n_sub == 8 && sub_len == 32) return fit_symmetric_batch<32, 8>(x, nmax, q, scales);
  WHALE_CHECK(false, "fit_symmetric_blocks: unsupported sub-block shape");
}

template <class T>
[[gnu::always_inline]] inline void scale_min_shapes(const float* x, int n_sub, int sub_len,
                                                    int nmax, int* q, T* out) {
  if (n_sub == 16 && sub_len == 16) return fit_scale_min_batch<16, 16>(x, nmax, q, out);
  if (n_sub == 8 && sub_len == 32) return fit_scale_min_batch<32, 8>(x, nmax, q, out);
  WHALE_CHECK(false, "fit_scale_min_blocks: unsupported sub-block shape");
}

#if defined(__x86_64__)
[[gnu::target("avx2")]] void fit_symmetric_avx2(const float* x, int n_sub, int sub_len, int nmax,
                                                int* q, float* scales) {
  symmetric_shapes(x, n_sub, sub_len, nmax, q, scales);
}

[[gnu::target("avx2")]] void fit_scale_min_avx2(const float* x, int n_sub, int sub_len, int nmax,
                                                int* q, ScaleAndMin* out) {
  scale_min_shapes(x, n_sub, sub_len, nmax, q, out);
}

bool have_avx2() {
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return avx2;
}
#else
bool have_avx2() { return false; }
void fit_symmetric_avx2(const float*, int, int, int, int*, float*) {}
void fit_scale_min_avx2(const float*, int, int, int, int*, ScaleAndMin*) {}
#endif

}  // namespace

void fit_symmetric_blocks_portable(const float* x, int n_sub, int sub_len, int nmax, int* q,
                                   float* scales) {
  symmetric_shapes(x, n_sub, sub_len, nmax, q, scales);
}

void fit_scale_min_blocks_portable(const float* x, int n_sub, int sub_len, int nmax, int* q,
                                   ScaleAndMin* out) {
  scale_min_shapes(x, n_sub, sub_len, nmax, q, out);
}

void fit_symmetric_blocks(const float* x, int n_sub, int sub_len, int nmax, int* q, float* scales) {
  if (have_avx2()) return fit_symmetric_avx2(x, n_sub, sub_len, nmax, q, scales);
  fit_symmetric_blocks_portable(x, n_sub, sub_len, nmax, q, scales);
}

void fit_scale_min_blocks(const float* x, int n_sub, int sub_len, int nmax, int* q,
                          ScaleAndMin* out) {
  if (have_avx2()) return fit_scale_min_avx2(x, n_sub, sub_len, nmax, q, out);
  fit_scale_min_blocks_portable(x, n_sub, sub_len, nmax, q, out);
}

int nearest_level(float v, std::span<const std::int8_t> levels) {
  // Below 2^20 in magnitude the nearest level is one of the two that bracket v: any other level
  // is at least 1 further away, far more than the rounding of |v - level| (ulp <= 2^-3), so the
  // scan below would pick the same index (ties go to the lower one there too). It runs for every
  // element of every trial scale of the IQ4 searches, so count instead of scanning.
  if (std::fabs(v) < 0x1p20f) {
    std::size_t above = 0;  // levels below v; levels[above] is the first >= v
    for (std::int8_t level : levels) above += static_cast<float>(level) < v;
    if (above == 0) return 0;
    if (above == levels.size()) return static_cast<int>(above - 1);
    const float d_lo = std::fabs(v - static_cast<float>(levels[above - 1]));
    const float d_hi = std::fabs(v - static_cast<float>(levels[above]));
    return static_cast<int>(d_hi < d_lo ? above : above - 1);
  }
  int best = 0;
  float best_dist = std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const float dist = std::fabs(v - static_cast<float>(levels[i]));
    if (dist < best_dist) {
      best_dist = dist;
      best = static_cast<int>(i);
    }
  }
  return best;
}

namespace {

// fit_nonuniform_blocks for B sub-blocks of 32, side by side as the searches above.
template <int B>
[[gnu::always_inline]] inline void fit_nonuniform_batch(const float* x,
                                                        std::span<const std::int8_t> levels,
                                                        float* scales) {
  constexpr int N = 32;
  constexpr int kLevels = 16;
  float lv[kLevels];
  for (int k = 0; k < kLevels; ++k) lv[k] = levels[static_cast<std::size_t>(k)];
  float xf[N][B];
  float max[B];
  bool live[B];
  for (int b = 0; b < B; ++b) {
    for (int i = 0; i < N; ++i) xf[i][b] = x[b * N + i];
    max[b] = signed_absmax({x + b * N, static_cast<std::size_t>(N)});
    live[b] = std::fabs(max[b]) > kTinyAbs;
  }
  // Map the signed absmax onto the widest level (the first, most negative one) and nearby.
  const float widest = lv[0];
  float iscale[B];
  double best[B], best_scale[B], s[B], scale[B];
  // Scores every lane's level assignment at iscale: nearest_level per element (its bracketing
  // fast path, inline; a trial with some |v| >= 2^20 is redone with nearest_level itself).
  const auto try_scales = [&] {
    double sumqx[B] = {};
    int sumq2[B] = {};
    int bad = 0;
    for (int i = 0; i < N; ++i)
      for (int b = 0; b < B; ++b) {
        const float v = iscale[b] * xf[i][b];
        bad |= !(std::fabs(v) < 0x1p20f);
        int n_below = 0;  // levels < v; the nearest is lv[n_below - 1] or lv[n_below]
        for (int k = 0; k < kLevels; ++k) n_below += lv[k] < v;
        const int lo = std::max(n_below - 1, 0), hi = std::min(n_below, kLevels - 1);
        const int idx = std::fabs(v - lv[hi]) < std::fabs(v - lv[lo]) ? hi : lo;
        const int level = levels[static_cast<std::size_t>(idx)];
        sumqx[b] += static_cast<double>(level) * xf[i][b];
        sumq2[b] += level * level;
      }
    if (bad) {
      for (int b = 0; b < B; ++b) sumqx[b] = 0, sumq2[b] = 0;
      for (int i = 0; i < N; ++i)
        for (int b = 0; b < B; ++b) {
          const int level =
              levels[static_cast<std::size_t>(nearest_level(iscale[b] * xf[i][b], levels))];
          sumqx[b] += static_cast<double>(level) * xf[i][b];
          sumq2[b] += level * level;
        }
    }
    for (int b = 0; b < B; ++b) {
      const double q2 = sumq2[b];
      s[b] = q2 > 0 ? sumqx[b] * sumqx[b] / q2 : 0.0;
      scale[b] = q2 > 0 ? sumqx[b] / q2 : 0.0;
    }
  };
  for (int b = 0; b < B; ++b) best[b] = -1, best_scale[b] = 0;
  for (int step = -2 * kSteps; step <= 2 * kSteps; ++step) {
    for (int b = 0; b < B; ++b)
      iscale[b] = live[b] ? (widest + static_cast<float>(step)) / max[b] : 0.0f;
    try_scales();
    for (int b = 0; b < B; ++b)
      if (live[b] && s[b] > best[b]) best[b] = s[b], best_scale[b] = scale[b];
  }
  refine_scales<B>(live, best, best_scale, iscale, s, scale, try_scales, [](const bool (&)[B]) {});
  for (int b = 0; b < B; ++b) scales[b] = live[b] ? static_cast<float>(best_scale[b]) : 0.0f;
}

[[gnu::always_inline]] inline void nonuniform_shapes(const float* x, int n_sub,
                                                     std::span<const std::int8_t> levels,
                                                     float* scales) {
  WHALE_CHECK(levels.size() == 16, "fit_nonuniform_blocks: 16 levels expected");
  if (n_sub == 8) return fit_nonuniform_batch<8>(x, levels, scales);
  WHALE_CHECK(n_sub == 1, "fit_nonuniform_blocks: 1 or 8 sub-blocks");
  fit_nonuniform_batch<1>(x, levels, scales);
}

#if defined(__x86_64__)
[[gnu::target("avx2")]] void fit_nonuniform_avx2(const float* x, int n_sub,
                                                 std::span<const std::int8_t> levels,
                                                 float* scales) {
  nonuniform_shapes(x, n_sub, levels, scales);
}
#else
void fit_nonuniform_avx2(const float*, int, std::span<const std::int8_t>, float*) {}
#endif

}  // namespace

void fit_nonuniform_blocks_portable(const float* x, int n_sub, std::span<const std::int8_t> levels,
                                    float* scales) {
  nonuniform_shapes(x, n_sub, levels, scales);
}

void fit_nonuniform_blocks(const float* x, int n_sub, std::span<const std::int8_t> levels,
                           float* scales) {
  if (have_avx2()) return fit_nonuniform_avx2(x, n_sub, levels, scales);
  fit_nonuniform_blocks_portable(x, n_sub, levels, scales);
}

}  // namespace whale::quant_ref
