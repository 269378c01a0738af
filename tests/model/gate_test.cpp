// gate_test.cpp — expert routing against hand-worked cases (scores, bias, groups, ties,
// normalisation, scaling).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/gate.h"

namespace whale {
namespace {

struct Routed {
  std::vector<std::int32_t> ids;
  std::vector<float> weights;
};

Routed route(const std::vector<float>& logits, const std::vector<float>& bias, const RoutingParams& p) {
  Routed r{std::vector<std::int32_t>(static_cast<std::size_t>(p.top_k)),
           std::vector<float>(static_cast<std::size_t>(p.top_k))};
  std::vector<float> work(2 * logits.size());
  route_token(logits, bias, p, r.ids.data(), r.weights.data(), work.data());
  return r;
}

RoutingParams v3_params(std::int64_t n, std::int64_t k, std::int64_t groups, std::int64_t kept, float scale) {
  RoutingParams p;
  p.n_experts = n;
  p.top_k = k;
  p.n_groups = groups;
  p.n_kept_groups = kept;
  p.score_func = ScoreFunc::kSigmoid;
  p.method = TopkMethod::kNoauxTc;
  p.normalize = true;
  p.route_scale = scale;
  return p;
}

// Sigmoid scores: expert 0 has logit ln 3 (score 0.75), the rest 0 (score 0.5). Biased choice
// scores: [0.85, 0.5, 0.8, 0.3, 0.55, 0.5, 0.5, 0.9]. Groups of two: sums 1.35, 1.1, 1.05, 1.4,
// so groups 3 and 0 are kept; expert 2 (0.8) is excluded with its group. Top-2 of {0, 1, 6, 7}
// by biased score: 7 (0.9), 0 (0.85). Weights use the unbiased scores 0.5 and 0.75,
// normalised to 0.4 and 0.6, times 2.5: 1.0 and 1.5.
TEST(Gate, NoauxTcBiasChoosesButDoesNotWeigh) {
  std::vector<float> logits(8, 0.0f);
  logits[0] = std::log(3.0f);
  const std::vector<float> bias = {0.1f, 0.0f, 0.3f, -0.2f, 0.05f, 0.0f, 0.0f, 0.4f};
  Routed r = route(logits, bias, v3_params(8, 2, 4, 2, 2.5f));
  EXPECT_EQ(r.ids, (std::vector<std::int32_t>{7, 0}));
  EXPECT_NEAR(r.weights[0], 1.0f, 1e-6);
  EXPECT_NEAR(r.weights[1], 1.5f, 1e-6);
}

// Groups of four. Group 0 biased scores [0.9, 0.1, 0.1, 0.1]: best 0.9, top-two sum 1.0.
// Group 1 [0.6, 0.6, 0.0, 0.0]: best 0.6, top-two sum 1.2. The V3 rule (sum of top two) keeps
// group 1, where "max" would keep group 0.
TEST(Gate, NoauxTcGroupScoreIsSumOfTopTwo) {
  const std::vector<float> logits(8, 0.0f);  // all scores 0.5
  const std::vector<float> bias = {0.4f, -0.4f, -0.4f, -0.4f, 0.1f, 0.1f, -0.5f, -0.5f};
  Routed r = route(logits, bias, v3_params(8, 2, 2, 1, 1.0f));
  EXPECT_EQ(r.ids, (std::vector<std::int32_t>{4, 5}));
  EXPECT_NEAR(r.weights[0], 0.5f, 1e-6);
  EXPECT_NEAR(r.weights[1], 0.5f, 1e-6);
}

// DeepSeek-V2 group_limited_greedy: softmax scores, group score = max. Logits
// [2, 0, 0, 0 | 1.5, 1.5, 0, 0]: group 0's best (2) beats group 1's (1.5), so only group 0
// is searched; its top two are expert 0 and, among three tied zeros, the lowest index 1.
// Weights are the softmax probabilities, unnormalised, times 1.
TEST(Gate, V2GroupLimitedGreedyUsesGroupMax) {
  RoutingParams p;
  p.n_experts = 8;
  p.top_k = 2;
  p.n_groups = 2;
  p.n_kept_groups = 1;
  p.score_func = ScoreFunc::kSoftmax;
  p.method = TopkMethod::kGroupLimitedGreedy;
  p.normalize = false;
  p.route_scale = 1.0f;
  Routed r = route({2, 0, 0, 0, 1.5f, 1.5f, 0, 0}, {}, p);
  EXPECT_EQ(r.ids, (std::vector<std::int32_t>{0, 1}));
  const double z = std::exp(2.0) + 3.0 + 2.0 * std::exp(1.5) + 2.0;
  EXPECT_NEAR(r.weights[0], std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(r.weights[1], 1.0 / z, 1e-6);
}

// Greedy softmax top-2 of logits [1, 3, 2, 0], normalised: 1/(1+e^-1) and e^-1/(1+e^-1).
// The V2 family does not apply routed_scaling_factor to normalised weights.
TEST(Gate, GreedyNormalisedIsNotScaled) {
  RoutingParams p;
  p.n_experts = 4;
  p.top_k = 2;
  p.score_func = ScoreFunc::kSoftmax;
  p.method = TopkMethod::kGreedy;
  p.normalize = true;
  p.route_scale = 3.0f;
  Routed r = route({1, 3, 2, 0}, {}, p);
  EXPECT_EQ(r.ids, (std::vector<std::int32_t>{1, 2}));
  EXPECT_NEAR(r.weights[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_NEAR(r.weights[1], std::exp(-1.0) / (1.0 + std::exp(-1.0)), 1e-6);
  p.normalize = false;  // unnormalised softmax weights are scaled
  r = route({1, 3, 2, 0}, {}, p);
  const double z = std::exp(1.0) + std::exp(3.0) + std::exp(2.0) + 1.0;
  EXPECT_NEAR(r.weights[0], 3.0 * std::exp(3.0) / z, 1e-6);
}

// Exact ties choose the lower index, so results never depend on sort stability.
TEST(Gate, TiesGoToLowerIndex) {
  RoutingParams p;
  p.n_experts = 6;
  p.top_k = 3;
  p.score_func = ScoreFunc::kSoftmax;
  p.method = TopkMethod::kGreedy;
  Routed r = route({0, 1, 1, 1, 1, 0}, {}, p);
  EXPECT_EQ(r.ids, (std::vector<std::int32_t>{1, 2, 3}));
}

}  // namespace
}  // namespace whale
