// lattice_search.h — the search behind the IQ2_XXS / IQ1_S / IQ1_M reference quantizers: which
// codebook entry (iq_codebooks.h) best fits 8 target values, and the least-squares scale of a
// run of groups.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace whale::quant_ref {

// Nearest-entry lookup over one codebook. Exhaustive search (256 or 2048 entries per group of
// 8, for every trial scale) would make quantizing a real model take hours, so each of the 3^8
// lattice points keeps the kCandidates entries nearest to it; a target is rounded to its
// lattice point and only that point's candidates are scored exactly. Built once per codebook.
class LatticeSearch {
 public:
  static constexpr int kCandidates = 16;

  // `grid`: entries as 8 bytes (iq_codebooks.h); `levels`: the 3 coordinate values, ascending.
  LatticeSearch(std::span<const std::uint64_t> grid, std::array<int, 3> levels);

  // The entry nearest to t[0..7] (in the codebook's units) among the candidates of t's lattice
  // point; its squared distance in *err.
  int nearest(const float* t, float* err) const;
  // Coordinate j of entry k.
  float value(int k, int j) const { return values_[static_cast<std::size_t>(k)][static_cast<std::size_t>(j)]; }

 private:
  std::array<float, 3> levels_;
  std::vector<std::array<float, 8>> values_;
  std::vector<std::uint16_t> candidates_;  // [6561][kCandidates]
};

const LatticeSearch& iq2xxs_search();  // over kIq2xxsGrid, levels {8, 25, 43}
const LatticeSearch& iq1s_search();    // over kIq1sGrid, levels {-1, 0, 1}

// One fitted run of n groups of 8 (n <= 4): x ≈ scale · (entry[idx[g]] + shift[g]).
struct GroupsFit {
  float scale = 0.0f;
  float err = 0.0f;  // squared error at `scale`
  std::array<int, 4> idx{};
  std::array<float, 4> shift{};
};

// How each group's shift is chosen: none (0), one for the whole run (each of ±shift tried), or
// each group its own (±shift per group).
enum class ShiftMode { kNone, kPerRun, kPerGroup };

// Tries each scale in `trials`: every group takes its nearest entry (and shift) at that scale,
// then the run's scale is re-solved by least squares; returns the fit with the least error.
GroupsFit fit_groups(const LatticeSearch& search, const float* x, int n_groups, float shift,
                     ShiftMode mode, std::span<const float> trials);

// The entries (and shifts) for a fixed scale, e.g. the scale after rounding to the format's bits.
GroupsFit assign_groups(const LatticeSearch& search, const float* x, int n_groups, float scale,
                        float shift, ShiftMode mode);

}  // namespace whale::quant_ref
