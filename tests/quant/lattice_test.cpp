// lattice_test.cpp — the codebook types' building blocks: the codebooks' defining properties, the
// implied IQ2_XXS sign, the nearest-entry search against exhaustive search, and the quantizers
// on data they can represent exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <set>
#include <span>
#include <vector>

#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/iq_codebooks.h"
#include "quant/lattice_search.h"

namespace whale {
namespace {

using quant_ref::LatticeSearch;

// Every entry has coordinates from the format's 3 levels, entries are distinct and ascend by
// base-3 code (coordinate 0 least significant), as the published tables list them.
template <std::size_t N>
void expect_lattice_subset(const std::array<std::uint64_t, N>& grid, std::array<int, 3> levels) {
  int previous = -1;
  for (std::size_t k = 0; k < N; ++k) {
    int code = 0;
    for (int j = 7; j >= 0; --j) {
      const int v = grid_coord(grid[k], j);
      const auto it = std::find(levels.begin(), levels.end(), v);
      ASSERT_NE(it, levels.end()) << "entry " << k << " coordinate " << j << " = " << v;
      code = 3 * code + static_cast<int>(it - levels.begin());
    }
    EXPECT_GT(code, previous) << "entry " << k;
    previous = code;
  }
}

TEST(Codebooks, AreAscendingSubsetsOfTheThreeLevelLattice) {
  expect_lattice_subset(kIq2xxsGrid, {8, 25, 43});
  expect_lattice_subset(kIq1sGrid, {-1, 0, 1});
  // Spot values of the published tables (also used by hand_worked_test.cpp).
  EXPECT_EQ(kIq2xxsGrid[0], 0x0808080808080808ULL);
  EXPECT_EQ(kIq2xxsGrid[1], 0x080808080808082bULL);
  EXPECT_EQ(kIq2xxsGrid[255], 0x2b2b2b1908081908ULL);
  EXPECT_EQ(kIq1sGrid[0], 0xffffffffffffffffULL);
  EXPECT_EQ(kIq1sGrid[1], 0xffffffffffffff01ULL);
  EXPECT_EQ(kIq1sGrid[2047], 0x0101010101010101ULL);
}

TEST(Codebooks, ImpliedSignKeepsNegativesEven) {
  for (unsigned seven = 0; seven < 128; ++seven) {
    const std::uint8_t s = iq2_sign_byte(seven);
    EXPECT_EQ(s & 127u, seven);
    EXPECT_EQ(std::popcount(static_cast<unsigned>(s)) % 2, 0) << seven;
  }
}

// The nearest entry by exhaustive search.
float exhaustive(std::span<const std::uint64_t> grid, const float* t) {
  float best = INFINITY;
  for (const std::uint64_t e : grid) {
    float d = 0.0f;
    for (int j = 0; j < 8; ++j) d += (t[j] - static_cast<float>(grid_coord(e, j))) * (t[j] - static_cast<float>(grid_coord(e, j)));
    best = std::min(best, d);
  }
  return best;
}

void check_search(const LatticeSearch& search, std::span<const std::uint64_t> grid, float lo,
                  float hi, float noise) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(lo, hi), jitter(-noise, noise);
  std::uniform_int_distribution<std::size_t> pick(0, grid.size() - 1);
  // An entry plus noise well inside its cell comes back as itself.
  for (int trial = 0; trial < 500; ++trial) {
    const std::size_t k = pick(rng);
    float t[8];
    for (int j = 0; j < 8; ++j) t[j] = static_cast<float>(grid_coord(grid[k], j)) + jitter(rng);
    float err;
    EXPECT_EQ(search.nearest(t, &err), static_cast<int>(k)) << "trial " << trial;
  }
  // Arbitrary targets: the candidate search is within 2 % of exhaustive search on average
  // (it scores only the entries nearest the target's lattice point; see lattice_search.h).
  double found = 0.0, best = 0.0;
  int exact = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    float t[8];
    for (float& v : t) v = uniform(rng);
    float err;
    search.nearest(t, &err);
    const float ex = exhaustive(grid, t);
    EXPECT_GE(err, ex * (1.0f - 1e-5f));
    found += err;
    best += ex;
    exact += err <= ex * (1.0f + 1e-5f);
  }
  std::printf("lattice search: mean error %.4f vs exhaustive %.4f, exact in %d / 2000\n",
              found / 2000, best / 2000, exact);
  EXPECT_LT(found, 1.02 * best);
  EXPECT_GT(exact, 1800);
}

TEST(LatticeSearch, FindsTheNearestEntry) {
  check_search(quant_ref::iq2xxs_search(), kIq2xxsGrid, 0.0f, 50.0f, 3.0f);
  check_search(quant_ref::iq1s_search(), kIq1sGrid, -1.3f, 1.3f, 0.2f);
}

// Rows that are the dequantized values of valid blocks are (nearly) fixed points: the
// quantizer must find a representation at least about as good as the one that produced them.
TEST(LatticeQuantizers, RequantizingTheirOwnOutputLosesAlmostNothing) {
  std::mt19937 rng(11);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  for (DType t : {DType::kIQ2_XXS, DType::kIQ1_S, DType::kIQ1_M}) {
    const std::int64_t n = 256 * 64;
    std::vector<float> x(static_cast<std::size_t>(n));
    for (float& v : x) v = gauss(rng);
    std::vector<std::byte> q(*row_bytes(t, n)), q2(q.size());
    std::vector<float> y(x.size()), y2(x.size());
    quantize_row(t, x.data(), q.data(), n);
    dequantize_row(t, q.data(), y.data(), n);
    quantize_row(t, y.data(), q2.data(), n);
    dequantize_row(t, q2.data(), y2.data(), n);
    double e_first = 0.0, e_second = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      e_first += (x[i] - y[i]) * (x[i] - y[i]);
      e_second += (y[i] - y2[i]) * (y[i] - y2[i]);
    }
    std::printf("%s: first pass %.5f, requantized %.5f (relative squared error)\n",
                std::string(dtype_name(t)).c_str(), e_first / static_cast<double>(n),
                e_second / static_cast<double>(n));
    EXPECT_LT(e_second, 0.01 * e_first) << dtype_name(t);
  }
}

}  // namespace
}  // namespace whale
