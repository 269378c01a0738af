// lattice_search.cpp — nearest codebook entries and least-squares run scales for the lattice
// quantizers (lattice_search.h).
#include "quant/lattice_search.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "quant/blocks.h"
#include "quant/iq_codebooks.h"

namespace whale::quant_ref {

LatticeSearch::LatticeSearch(std::span<const std::uint64_t> grid, std::array<int, 3> levels)
    : levels_{static_cast<float>(levels[0]), static_cast<float>(levels[1]),
              static_cast<float>(levels[2])} {
  values_.resize(grid.size());
  for (std::size_t k = 0; k < grid.size(); ++k)
    for (int j = 0; j < 8; ++j) values_[k][static_cast<std::size_t>(j)] = static_cast<float>(grid_coord(grid[k], j));
  candidates_.resize(static_cast<std::size_t>(kLatticeCodes) * kCandidates);
  std::vector<std::pair<float, std::uint16_t>> by_distance(grid.size());
  for (int code = 0; code < kLatticeCodes; ++code) {
    std::array<float, 8> point{};
    for (int j = 0, rest = code; j < 8; ++j, rest /= 3) point[static_cast<std::size_t>(j)] = levels_[static_cast<std::size_t>(rest % 3)];
    for (std::size_t k = 0; k < grid.size(); ++k) {
      float d = 0.0f;
      for (std::size_t j = 0; j < 8; ++j) d += (point[j] - values_[k][j]) * (point[j] - values_[k][j]);
      by_distance[k] = {d, static_cast<std::uint16_t>(k)};
    }
    std::partial_sort(by_distance.begin(), by_distance.begin() + kCandidates, by_distance.end());
    for (int c = 0; c < kCandidates; ++c)
      candidates_[static_cast<std::size_t>(code * kCandidates + c)] = by_distance[static_cast<std::size_t>(c)].second;
  }
}

int LatticeSearch::nearest(const float* t, float* err) const {
  const float mid_low = 0.5f * (levels_[0] + levels_[1]);
  const float mid_high = 0.5f * (levels_[1] + levels_[2]);
  int code = 0;
  for (int j = 7; j >= 0; --j) code = 3 * code + (t[j] < mid_low ? 0 : t[j] < mid_high ? 1 : 2);
  int best = 0;
  float best_err = std::numeric_limits<float>::infinity();
  for (int c = 0; c < kCandidates; ++c) {
    const int k = candidates_[static_cast<std::size_t>(code * kCandidates + c)];
    const auto& v = values_[static_cast<std::size_t>(k)];
    float e = 0.0f;
    for (std::size_t j = 0; j < 8; ++j) e += (t[j] - v[j]) * (t[j] - v[j]);
    if (e < best_err) {
      best_err = e;
      best = k;
    }
  }
  *err = best_err;
  return best;
}

const LatticeSearch& iq2xxs_search() {
  static const LatticeSearch s(kIq2xxsGrid, {8, 25, 43});
  return s;
}

const LatticeSearch& iq1s_search() {
  static const LatticeSearch s(kIq1sGrid, {-1, 0, 1});
  return s;
}

namespace {

// Group g's nearest entry at `scale`, trying each shift in `shifts`; error in x's units.
void fit_group(const LatticeSearch& search, const float* x, float scale,
               std::span<const float> shifts, int& idx, float& shift, float& err) {
  err = std::numeric_limits<float>::infinity();
  for (const float s : shifts) {
    float t[8];
    for (int j = 0; j < 8; ++j) t[j] = x[j] / scale - s;
    float e;
    const int k = search.nearest(t, &e);
    e *= scale * scale;
    if (e < err) {
      err = e;
      idx = k;
      shift = s;
    }
  }
}

// The run's entries at `scale` (err at that scale), then its least-squares scale and error.
GroupsFit assign_run(const LatticeSearch& search, const float* x, int n_groups, float scale,
                     std::span<const float> shifts, bool solve_scale) {
  GroupsFit f;
  float xv = 0.0f, vv = 0.0f, xx = 0.0f;
  for (int g = 0; g < n_groups; ++g) {
    float e;
    fit_group(search, x + 8 * g, scale, shifts, f.idx[static_cast<std::size_t>(g)], f.shift[static_cast<std::size_t>(g)], e);
    f.err += e;
    for (int j = 0; j < 8; ++j) {
      const float v = search.value(f.idx[static_cast<std::size_t>(g)], j) + f.shift[static_cast<std::size_t>(g)];
      xv += x[8 * g + j] * v;
      vv += v * v;
      xx += x[8 * g + j] * x[8 * g + j];
    }
  }
  f.scale = scale;
  if (solve_scale && vv > 0.0f && xv > 0.0f) {
    f.scale = xv / vv;
    f.err = std::max(0.0f, xx - xv * xv / vv);
  }
  return f;
}

template <class Fn>
void for_each_shift_set(float shift, ShiftMode mode, Fn&& fn) {
  const float both[2] = {shift, -shift};
  const float zero[1] = {0.0f};
  switch (mode) {
    case ShiftMode::kNone: fn(std::span<const float>(zero)); break;
    case ShiftMode::kPerGroup: fn(std::span<const float>(both)); break;
    case ShiftMode::kPerRun:
      fn(std::span<const float>(both, 1));
      fn(std::span<const float>(both + 1, 1));
      break;
  }
}

}  // namespace

GroupsFit fit_groups(const LatticeSearch& search, const float* x, int n_groups, float shift,
                     ShiftMode mode, std::span<const float> trials) {
  GroupsFit best;
  best.err = std::numeric_limits<float>::infinity();
  for_each_shift_set(shift, mode, [&](std::span<const float> shifts) {
    for (const float s : trials) {
      const GroupsFit f = assign_run(search, x, n_groups, s, shifts, true);
      if (f.err < best.err) best = f;
    }
  });
  return best;
}

GroupsFit assign_groups(const LatticeSearch& search, const float* x, int n_groups, float scale,
                        float shift, ShiftMode mode) {
  GroupsFit best;
  best.err = std::numeric_limits<float>::infinity();
  for_each_shift_set(shift, mode, [&](std::span<const float> shifts) {
    const GroupsFit f = assign_run(search, x, n_groups, scale, shifts, false);
    if (f.err < best.err) best = f;
  });
  return best;
}

}  // namespace whale::quant_ref
