// sampler_test.cpp — each filter alone and combined on hand-built distributions, penalties,
// logit bias, and seed determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "sampling/sampler.h"

namespace whale {
namespace {

// Logits whose softmax is the given probabilities (up to a constant).
std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(p > 0 ? static_cast<float>(std::log(p)) : -INFINITY);
  return l;
}

std::map<std::int32_t, int> histogram(SamplingParams p, const std::vector<double>& probs, int n) {
  std::map<std::int32_t, int> h;
  Sampler s(p);
  for (int i = 0; i < n; ++i) {
    auto l = logits_of(probs);
    ++h[s.sample(l, {})];
  }
  return h;
}

TEST(Sampler, GreedyPicksFirstMaximum) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p);
  std::vector<float> l = {0.1f, 2.0f, 2.0f, -1.0f};
  EXPECT_EQ(s.sample(l, {}), 1);
}

TEST(Sampler, TopKKeepsOnlyKBest) {
  SamplingParams p;
  p.top_k = 2;
  p.seed = 7;
  auto h = histogram(p, {0.1, 0.4, 0.3, 0.2}, 2000);
  EXPECT_EQ(h.count(0) + h.count(3), 0u);
  // Renormalised 0.4 : 0.3 -> 4/7 of draws are token 1; 2000 draws, 5 sigma ~ 0.055.
  EXPECT_NEAR(h[1] / 2000.0, 4.0 / 7.0, 0.06);
}

// Top-p 0.75 over [0.5, 0.3, 0.15, 0.05]: cumulative 0.5, 0.8 -> keep the first two.
TEST(Sampler, TopPKeepsSmallestPrefixReachingP) {
  SamplingParams p;
  p.top_p = 0.75f;
  p.seed = 3;
  auto h = histogram(p, {0.5, 0.3, 0.15, 0.05}, 2000);
  EXPECT_EQ(h.count(2) + h.count(3), 0u);
  EXPECT_NEAR(h[0] / 2000.0, 0.5 / 0.8, 0.06);
}

// min-p 0.25 with p_max 0.5: floor 0.125 keeps 0.5, 0.3, 0.15 and drops 0.05.
TEST(Sampler, MinPDropsBelowFractionOfMax) {
  SamplingParams p;
  p.min_p = 0.25f;
  p.seed = 5;
  Sampler s(p);
  auto l = logits_of({0.5, 0.3, 0.15, 0.05});
  s.sample(l, {});
  ASSERT_EQ(s.last_candidates().size(), 3u);
  EXPECT_NEAR(s.last_candidates()[2].second, 0.15 / 0.95, 1e-6);
}

// Combined: top-k 3 then top-p 0.6 over renormalised [0.4, 0.3, 0.2]/0.9: cumulative 0.444,
// 0.778 -> two kept, with probabilities 4/7 and 3/7.
TEST(Sampler, FiltersCompose) {
  SamplingParams p;
  p.top_k = 3;
  p.top_p = 0.6f;
  Sampler s(p);
  auto l = logits_of({0.4, 0.3, 0.2, 0.1});
  s.sample(l, {});
  ASSERT_EQ(s.last_candidates().size(), 2u);
  EXPECT_NEAR(s.last_candidates()[0].second, 4.0 / 7.0, 1e-6);
}

// Temperature 0.5 squares the odds: [0.6, 0.4] -> 0.36 : 0.16.
TEST(Sampler, TemperatureSharpens) {
  SamplingParams p;
  p.temperature = 0.5f;
  Sampler s(p);
  auto l = logits_of({0.6, 0.4});
  s.sample(l, {});
  EXPECT_NEAR(s.last_candidates()[0].second, 0.36 / 0.52, 1e-6);
}

// Repetition 2 halves a positive logit and doubles a negative one; frequency 0.5 per
// occurrence; presence 0.25 once.
TEST(Sampler, PenaltiesFollowTheirDefinitions) {
  SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 2.0f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  Sampler s(p);
  std::vector<float> l = {4.0f, -1.0f, 1.0f};
  const std::vector<std::int32_t> history = {0, 0, 1};
  s.sample(l, history);
  EXPECT_FLOAT_EQ(l[0], 4.0f / 2 - 2 * 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(l[1], -1.0f * 2 - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(l[2], 1.0f);
}

TEST(Sampler, LogitBiasCanBanAndForce) {
  SamplingParams p;
  p.temperature = 0;
  p.logit_bias = {{0, -INFINITY}, {2, 10.0f}};
  Sampler s(p);
  std::vector<float> l = {5.0f, 1.0f, 0.0f};
  EXPECT_EQ(s.sample(l, {}), 2);
}

TEST(Sampler, SameSeedSameTokens) {
  SamplingParams p;
  p.seed = 42;
  p.temperature = 0.8f;
  auto run = [&] {
    Sampler s(p);
    std::vector<std::int32_t> out;
    for (int i = 0; i < 50; ++i) {
      auto l = logits_of({0.2, 0.2, 0.2, 0.2, 0.2});
      out.push_back(s.sample(l, out));
    }
    return out;
  };
  const auto first = run();
  EXPECT_EQ(first, run());
  p.seed = 43;
  Sampler other(p);
  std::vector<std::int32_t> diff;
  for (int i = 0; i < 50; ++i) {
    auto l = logits_of({0.2, 0.2, 0.2, 0.2, 0.2});
    diff.push_back(other.sample(l, diff));
  }
  EXPECT_NE(first, diff);
}

TEST(Sampler, ValidateNamesTheParameter) {
  SamplingParams p;
  p.top_p = 0;
  auto r = validate(p, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("top_p"), std::string::npos);
  p = {};
  p.logit_bias[12] = 1;
  r = validate(p, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("logit_bias"), std::string::npos);
}

}  // namespace
}  // namespace whale
