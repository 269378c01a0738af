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

float fit_symmetric(std::span<const float> x, int nmax, std::span<int> q) {
  WHALE_CHECK(q.size() == x.size());
  const float max = signed_absmax(x);
  if (std::fabs(max) <= kTinyAbs) {
    std::fill(q.begin(), q.end(), 0);
    return 0.0f;
  }
  const auto assign = [&](float iscale, std::span<int> out) {
    for (std::size_t i = 0; i < x.size(); ++i)
      out[i] = std::clamp(round_int(iscale * x[i]), -nmax, nmax - 1);
  };
  // Least-squares scale for fixed levels; the error reduction is sumlx^2 / suml2.
  const auto score = [&](std::span<const int> l, double& scale) {
    double sumlx = 0, suml2 = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      sumlx += static_cast<double>(x[i]) * l[i];
      suml2 += sq(l[i]);
    }
    scale = suml2 > 0 ? sumlx / suml2 : 0.0;
    return suml2 > 0 ? sumlx * sumlx / suml2 : 0.0;
  };
  int trial_buf[256];
  WHALE_CHECK(x.size() <= 256);
  const std::span<int> trial(trial_buf, x.size());
  double best = -1, best_scale = 0;
  for (int step = -kSteps; step <= kSteps; ++step) {
    assign(-(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max, trial);
    double scale = 0;
    const double s = score(trial, scale);
    if (s > best) {
      best = s;
      best_scale = scale;
      std::copy(trial.begin(), trial.end(), q.begin());
    }
  }
  for (int it = 0; it < kRefineIters && best_scale != 0; ++it) {
    assign(static_cast<float>(1.0 / best_scale), trial);
    double scale = 0;
    const double s = score(trial, scale);
    if (s <= best) break;
    best = s;
    best_scale = scale;
    std::copy(trial.begin(), trial.end(), q.begin());
  }
  return static_cast<float>(best_scale);
}

ScaleAndMin fit_scale_min(std::span<const float> x, int nmax, std::span<int> q) {
  WHALE_CHECK(q.size() == x.size() && x.size() <= 256);
  float lo = 0.0f, hi = -std::numeric_limits<float>::max();
  for (float v : x) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (hi - lo <= kTinyAbs) {
    std::fill(q.begin(), q.end(), 0);
    return {0.0f, -lo};
  }
  const double n = static_cast<double>(x.size());
  // Least squares for x ≈ a * q + c with c <= 0; returns the squared error.
  const auto solve = [&](std::span<const int> l, double& a, double& c) {
    double sq_ = 0, sq2 = 0, sx = 0, sxq = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      sq_ += l[i];
      sq2 += sq(l[i]);
      sx += x[i];
      sxq += static_cast<double>(x[i]) * l[i];
    }
    const double det = n * sq2 - sq_ * sq_;
    if (det > 0) {
      a = (n * sxq - sq_ * sx) / det;
      c = (sq2 * sx - sq_ * sxq) / det;
    } else {
      a = 0;
      c = sx / n;
    }
    if (c > 0 || a < 0) {  // the format cannot represent a positive offset or negative scale
      c = std::min(c, 0.0);
      a = sq2 > 0 ? std::max(0.0, (sxq - c * sq_) / sq2) : 0.0;
    }
    double err = 0;
    for (std::size_t i = 0; i < x.size(); ++i) err += sq(a * l[i] + c - x[i]);
    return err;
  };
  const auto assign = [&](double iscale, double offset, std::span<int> out) {
    for (std::size_t i = 0; i < x.size(); ++i)
      out[i] = std::clamp(round_int(static_cast<float>(iscale * (x[i] - offset))), 0, nmax);
  };
  int trial_buf[256];
  const std::span<int> trial(trial_buf, x.size());
  double best = std::numeric_limits<double>::infinity(), best_a = 0, best_c = lo;
  for (int step = -kSteps; step <= kSteps; ++step) {
    assign((nmax + 0.1 * step) / (static_cast<double>(hi) - lo), lo, trial);
    double a = 0, c = 0;
    const double err = solve(trial, a, c);
    if (err < best) {
      best = err;
      best_a = a;
      best_c = c;
      std::copy(trial.begin(), trial.end(), q.begin());
    }
  }
  for (int it = 0; it < kRefineIters && best_a > 0; ++it) {
    assign(1.0 / best_a, best_c, trial);
    double a = 0, c = 0;
    const double err = solve(trial, a, c);
    if (err >= best) break;
    best = err;
    best_a = a;
    best_c = c;
    std::copy(trial.begin(), trial.end(), q.begin());
  }
  return {static_cast<float>(best_a), static_cast<float>(-best_c)};
}

int nearest_level(float v, std::span<const std::int8_t> levels) {
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

float fit_nonuniform(std::span<const float> x, std::span<const std::int8_t> levels,
                     std::span<int> q) {
  WHALE_CHECK(q.size() == x.size() && x.size() <= 256);
  const float max = signed_absmax(x);
  if (std::fabs(max) <= kTinyAbs) {
    std::fill(q.begin(), q.end(), nearest_level(0.0f, levels));
    return 0.0f;
  }
  // Map the signed absmax onto the widest level (the first, most negative one) and nearby.
  const float widest = static_cast<float>(levels.front());
  int trial_buf[256];
  const std::span<int> trial(trial_buf, x.size());
  double best = -1, best_scale = 0;
  const auto try_scale = [&](float iscale) {
    double sumqx = 0, sumq2 = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      trial[i] = nearest_level(iscale * x[i], levels);
      const double v = levels[static_cast<std::size_t>(trial[i])];
      sumqx += v * x[i];
      sumq2 += v * v;
    }
    const double s = sumq2 > 0 ? sumqx * sumqx / sumq2 : 0.0;
    if (s > best) {
      best = s;
      best_scale = sumq2 > 0 ? sumqx / sumq2 : 0.0;
      std::copy(trial.begin(), trial.end(), q.begin());
      return true;
    }
    return false;
  };
  for (int step = -2 * kSteps; step <= 2 * kSteps; ++step)
    try_scale((widest + static_cast<float>(step)) / max);
  for (int it = 0; it < kRefineIters && best_scale != 0; ++it)
    if (!try_scale(static_cast<float>(1.0 / best_scale))) break;
  return static_cast<float>(best_scale);
}

}  // namespace whale::quant_ref
