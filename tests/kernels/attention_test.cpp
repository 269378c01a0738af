// attend() against a double-precision softmax attention written from its definition, for every
// kernel this CPU runs, on odd shapes (tails of keys, of value vectors, of query tiles).
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu_features.h"

namespace whale {
namespace {

struct Case {
  std::int64_t len_a, len_b, v_dim, n_keys, n_queries;
};

struct Data {
  Case c;
  std::vector<float> keys_a, keys_b, values, queries;
  std::vector<std::int64_t> n_pos;
  std::vector<const float*> key_a, key_b, value, query;

  Data(const Case& shape, std::uint64_t seed) : c(shape) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    auto fill = [&](std::vector<float>& v, std::int64_t n) {
      v.resize(static_cast<std::size_t>(n));
      for (float& x : v) x = g(rng);
    };
    // Key rows at a stride wider than the row, as in the cache.
    fill(keys_a, c.n_keys * (c.len_a + 3));
    fill(keys_b, c.n_keys * (c.len_b + 1));
    fill(values, c.n_keys * (c.v_dim + 5));
    fill(queries, c.n_queries * (c.len_a + c.len_b));
    for (std::int64_t p = 0; p < c.n_keys; ++p) {
      key_a.push_back(keys_a.data() + p * (c.len_a + 3));
      key_b.push_back(keys_b.data() + p * (c.len_b + 1));
      value.push_back(values.data() + p * (c.v_dim + 5));
    }
    std::uniform_int_distribution<std::int64_t> pos(1, c.n_keys);
    for (std::int64_t i = 0; i < c.n_queries; ++i) {
      query.push_back(queries.data() + i * (c.len_a + c.len_b));
      // The last queries are causal (a prompt's end), the others anywhere.
      n_pos.push_back(i >= c.n_queries - 2 ? c.n_keys - (c.n_queries - 1 - i) : pos(rng));
    }
  }

  AttentionKv kv() const {
    return {c.n_keys, key_a.data(), c.len_a, key_b.data(), c.len_b, value.data(), c.v_dim};
  }
};

std::vector<float> run(AttendFn fn, const Data& d, float scale, std::int64_t first, std::int64_t n) {
  std::vector<float> out(static_cast<std::size_t>(n * d.c.v_dim), -7.0f);
  std::vector<float*> rows;
  for (std::int64_t i = 0; i < n; ++i) rows.push_back(out.data() + i * d.c.v_dim);
  const AttentionKv kv = d.kv();
  const AttentionQueries q{n, d.query.data() + first, d.n_pos.data() + first, rows.data(), scale};
  std::vector<float> work(static_cast<std::size_t>(attend_work_floats(kv)), std::nanf(""));
  fn(kv, q, work.data());
  return out;
}

const Case kCases[] = {
    {24, 0, 24, 5, 3},      // fewer keys than a vector
    {128, 0, 128, 70, 9},   // the 1.5B head, two query tiles and a tail
    {128, 64, 128, 33, 6},  // MLA's expanded head: no-RoPE part + shared RoPE part
    {40, 8, 20, 100, 13},   // a value tail shorter than a vector pass
    {7, 1, 67, 1, 1},       // one key
};
// Scales of the scores: the usual 1/sqrt(dim), and one that spreads them over e^-80..e^0.
const float kScoreScales[] = {1.0f, 12.0f};

// fn's outputs against the double-precision definition, and each query alone against the batch.
void check(AttendFn fn, const Data& d, float scale) {
  const Case& c = d.c;
  const std::int64_t dim = c.len_a + c.len_b;
  const auto got = run(fn, d, scale, 0, c.n_queries);
  for (std::int64_t i = 0; i < c.n_queries; ++i) {
    const auto n = static_cast<std::size_t>(d.n_pos[static_cast<std::size_t>(i)]);
    const float* q = d.query[static_cast<std::size_t>(i)];
    std::vector<double> s(n);
    double mx = -1e300;
    for (std::size_t p = 0; p < n; ++p) {
      double dot = 0;
      for (std::int64_t e = 0; e < dim; ++e)
        dot += static_cast<double>(q[e]) * (e < c.len_a ? d.key_a[p][e] : d.key_b[p][e - c.len_a]);
      s[p] = dot * scale;
      mx = std::max(mx, s[p]);
    }
    double sum = 0;
    for (double& v : s) sum += (v = std::exp(v - mx));
    for (std::int64_t e = 0; e < c.v_dim; ++e) {
      double want = 0, mag = 0;
      for (std::size_t p = 0; p < n; ++p) {
        want += s[p] / sum * d.value[p][e];
        mag += std::fabs(s[p] / sum * d.value[p][e]);
      }
      // f32 scores carry ~dim·2⁻²⁴·|q||k| absolute error, which e^score turns into a relative one.
      EXPECT_NEAR(got[static_cast<std::size_t>(i * c.v_dim + e)], want, 5e-5 * (mag + 1e-3))
          << "dim " << dim << " keys " << c.n_keys << " scale " << scale << " query " << i << " element " << e;
    }
  }
  for (std::int64_t i = 0; i < c.n_queries; ++i) {
    const auto alone = run(fn, d, scale, i, 1);
    ASSERT_EQ(std::memcmp(alone.data(), got.data() + i * c.v_dim, alone.size() * sizeof(float)), 0)
        << "query " << i << " of " << c.n_queries << " alone";
  }
}

TEST(Attention, EveryKernelMatchesDoublePrecisionReference) {
  std::vector<AttendFn> kernels{attend_kernel("portable")};
  ASSERT_NE(kernels[0], nullptr);
#if defined(__x86_64__)
  EXPECT_EQ(attend_kernel("avx2") != nullptr, cpu_has_avx2_fma_f16c());
  EXPECT_EQ(attend_kernel("avx512") != nullptr, cpu_has_avx2_fma_f16c() && cpu_has_avx512_vnni_vl());
#endif
  for (const char* name : {"avx2", "avx512"})
    if (AttendFn f = attend_kernel(name)) kernels.push_back(f);
  std::uint64_t seed = 7;
  for (const Case& c : kCases)
    for (const float spread : kScoreScales) {
      const Data d(c, ++seed);
      for (AttendFn fn : kernels) check(fn, d, spread / std::sqrt(static_cast<float>(c.len_a + c.len_b)));
    }
}

// A decode step's heads: every query sees all keys (MLA's heads over one latent cache, a GQA
// group over one key head), the kernels' query-lane path, including more queries than a
// vector's lanes and a key count that is not a multiple of the 8 keys scored side by side.
TEST(Attention, HeadsOfOneDecodeStepMatchReferenceAndEachAlone) {
  std::vector<AttendFn> kernels{attend_kernel("portable")};
  for (const char* name : {"avx2", "avx512"})
    if (AttendFn f = attend_kernel(name)) kernels.push_back(f);
  const Case cases[] = {
      {128, 0, 128, 37, 6},   // the 1.5B shape's GQA group of 6 heads
      {512, 64, 512, 21, 8},  // V2-Lite's absorbed MLA: 8 heads of a thread's group
      {40, 8, 20, 9, 19},     // more queries than 16 lanes
      {24, 0, 24, 1, 3},      // one key
  };
  std::uint64_t seed = 101;
  for (const Case& c : cases) {
    Data d(c, ++seed);
    std::fill(d.n_pos.begin(), d.n_pos.end(), c.n_keys);
    for (AttendFn fn : kernels) check(fn, d, 1.0f / std::sqrt(static_cast<float>(c.len_a + c.len_b)));
  }
}

}  // namespace
}  // namespace whale
