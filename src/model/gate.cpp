// gate.cpp — expert routing for one token.
#include "model/gate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "util/check.h"

namespace whale {

RoutingParams RoutingParams::from_config(const ModelConfig& c) {
  RoutingParams p;
  p.n_experts = c.n_routed_experts;
  p.top_k = c.num_experts_per_tok;
  p.n_groups = c.n_group;
  p.n_kept_groups = c.topk_group;
  p.score_func = c.scoring_func;
  p.method = c.topk_method;
  p.normalize = c.norm_topk_prob;
  p.route_scale = static_cast<float>(c.routed_scaling_factor);
  return p;
}

namespace {

// The indices of the `k` largest values among `candidates`, ties to the lower index.
void top_indices(const float* values, std::vector<std::int32_t>& candidates, std::int64_t k) {
  std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(),
                    [values](std::int32_t a, std::int32_t b) {
                      return values[a] > values[b] || (values[a] == values[b] && a < b);
                    });
  candidates.resize(static_cast<std::size_t>(k));
}

}  // namespace

void route_token(std::span<const float> logits, std::span<const float> score_bias,
                 const RoutingParams& p, std::int32_t* ids, float* weights, float* work) {
  const std::int64_t n = p.n_experts;
  WHALE_CHECK(static_cast<std::int64_t>(logits.size()) == n && p.top_k <= n);
  float* scores = work;          // the scores the weights come from
  float* choice = work + n;      // the scores the choice is made on (biased for noaux_tc)
  if (p.score_func == ScoreFunc::kSigmoid) {
    for (std::int64_t e = 0; e < n; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[static_cast<std::size_t>(e)]));
  } else {
    float mx = logits[0];
    for (float v : logits) mx = std::max(mx, v);
    double sum = 0.0;
    for (std::int64_t e = 0; e < n; ++e) {
      scores[e] = std::exp(logits[static_cast<std::size_t>(e)] - mx);
      sum += scores[e];
    }
    for (std::int64_t e = 0; e < n; ++e) scores[e] = static_cast<float>(scores[e] / sum);
  }
  for (std::int64_t e = 0; e < n; ++e)
    choice[e] = scores[e] + (score_bias.empty() ? 0.0f : score_bias[static_cast<std::size_t>(e)]);

  thread_local std::vector<std::int32_t> candidates;
  candidates.clear();
  if (p.method == TopkMethod::kGreedy || p.n_groups <= 1) {
    for (std::int64_t e = 0; e < n; ++e) candidates.push_back(static_cast<std::int32_t>(e));
  } else {
    // Group score: the sum of the group's two best (noaux_tc) or its best (V2) choice scores.
    const std::int64_t per_group = n / p.n_groups;
    thread_local std::vector<float> group_score;
    group_score.assign(static_cast<std::size_t>(p.n_groups), 0.0f);
    for (std::int64_t g = 0; g < p.n_groups; ++g) {
      const float* s = choice + g * per_group;
      float best = -INFINITY, second = -INFINITY;
      for (std::int64_t i = 0; i < per_group; ++i) {
        if (s[i] > best) {
          second = best;
          best = s[i];
        } else if (s[i] > second) {
          second = s[i];
        }
      }
      group_score[static_cast<std::size_t>(g)] = p.method == TopkMethod::kNoauxTc ? best + second : best;
    }
    thread_local std::vector<std::int32_t> groups;
    groups.resize(static_cast<std::size_t>(p.n_groups));
    std::iota(groups.begin(), groups.end(), 0);
    top_indices(group_score.data(), groups, p.n_kept_groups);
    std::sort(groups.begin(), groups.end());
    for (std::int32_t g : groups)
      for (std::int64_t i = 0; i < per_group; ++i)
        candidates.push_back(static_cast<std::int32_t>(g * per_group + i));
  }
  top_indices(choice, candidates, p.top_k);

  float sum = 0.0f;
  for (std::int64_t k = 0; k < p.top_k; ++k) {
    ids[k] = candidates[static_cast<std::size_t>(k)];
    weights[k] = scores[ids[k]];
    sum += weights[k];
  }
  // V3 (noaux_tc) normalises and then scales; the V2 family's MoEGate scales only when it
  // does not normalise (its routed_scaling_factor stands in for the normalisation).
  const bool normalize = p.normalize && p.top_k > 1;
  const bool scale = p.method == TopkMethod::kNoauxTc || !normalize;
  for (std::int64_t k = 0; k < p.top_k; ++k) {
    if (normalize) weights[k] /= sum;
    if (scale) weights[k] *= p.route_scale;
  }
}

}  // namespace whale
