// sampler.cpp — the logit processors and the pick.
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>

namespace whale {

Result<void> validate(const SamplingParams& p, std::int64_t vocab_size) {
  if (!std::isfinite(p.temperature) || p.temperature < 0 || p.temperature > 100)
    return Error("temperature {} is outside [0, 100]", p.temperature);
  if (p.top_k < 0) return Error("top_k {} is negative", p.top_k);
  if (!(p.top_p > 0 && p.top_p <= 1)) return Error("top_p {} is outside (0, 1]", p.top_p);
  if (!(p.min_p >= 0 && p.min_p <= 1)) return Error("min_p {} is outside [0, 1]", p.min_p);
  if (!(p.repetition_penalty > 0) || !std::isfinite(p.repetition_penalty))
    return Error("repetition_penalty {} must be positive", p.repetition_penalty);
  if (!std::isfinite(p.frequency_penalty) || std::fabs(p.frequency_penalty) > 2)
    return Error("frequency_penalty {} is outside [-2, 2]", p.frequency_penalty);
  if (!std::isfinite(p.presence_penalty) || std::fabs(p.presence_penalty) > 2)
    return Error("presence_penalty {} is outside [-2, 2]", p.presence_penalty);
  for (const auto& [tok, bias] : p.logit_bias) {
    if (tok < 0 || tok >= vocab_size) return Error("logit_bias token {} is outside the vocabulary", tok);
    if (!std::isfinite(bias) && bias != -INFINITY) return Error("logit_bias for token {} is not finite", tok);
  }
  return {};
}

Sampler::Sampler(SamplingParams params) : params_(std::move(params)), rng_(params_.seed) {}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

void Sampler::apply_penalties(std::span<float> logits, std::span<const std::int32_t> history) {
  const SamplingParams& p = params_;
  if (p.repetition_penalty == 1.0f && p.frequency_penalty == 0.0f && p.presence_penalty == 0.0f) return;
  std::size_t start = 0;
  if (p.penalty_last_n >= 0 && history.size() > static_cast<std::size_t>(p.penalty_last_n))
    start = history.size() - static_cast<std::size_t>(p.penalty_last_n);
  counts_.clear();
  for (std::size_t i = start; i < history.size(); ++i) ++counts_[history[i]];
  for (const auto& [tok, n] : counts_) {
    if (tok < 0 || static_cast<std::size_t>(tok) >= logits.size()) continue;
    float& l = logits[static_cast<std::size_t>(tok)];
    l = l > 0 ? l / p.repetition_penalty : l * p.repetition_penalty;
    l -= static_cast<float>(n) * p.frequency_penalty + p.presence_penalty;
  }
}

std::int32_t Sampler::sample(std::span<float> logits, std::span<const std::int32_t> history) {
  const SamplingParams& p = params_;
  for (const auto& [tok, bias] : p.logit_bias)
    if (static_cast<std::size_t>(tok) < logits.size()) logits[static_cast<std::size_t>(tok)] += bias;
  apply_penalties(logits, history);

  candidates_.clear();
  if (p.temperature <= 0.0f) {
    // Greedy: the first maximum, so ties are resolved the same way everywhere.
    std::size_t best = 0;
    for (std::size_t i = 1; i < logits.size(); ++i)
      if (logits[i] > logits[best]) best = i;
    candidates_.emplace_back(static_cast<std::int32_t>(best), 1.0f);
    return static_cast<std::int32_t>(best);
  }

  candidates_.reserve(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i)
    if (logits[i] != -INFINITY) candidates_.emplace_back(static_cast<std::int32_t>(i), logits[i]);
  if (candidates_.empty()) candidates_.emplace_back(0, 0.0f);  // every token banned: pick 0
  auto by_logit = [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); };
  if (p.top_k > 0 && static_cast<std::size_t>(p.top_k) < candidates_.size()) {
    std::partial_sort(candidates_.begin(), candidates_.begin() + p.top_k, candidates_.end(), by_logit);
    candidates_.resize(static_cast<std::size_t>(p.top_k));
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  // Softmax with temperature over the survivors (sorted, so the max is first).
  const double mx = candidates_.front().second;
  double sum = 0.0;
  std::vector<double> prob(candidates_.size());
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    prob[i] = std::exp((candidates_[i].second - mx) / p.temperature);
    sum += prob[i];
  }
  for (auto& v : prob) v /= sum;
  std::size_t keep = candidates_.size();
  if (p.top_p < 1.0f) {
    double cum = 0.0;
    for (std::size_t i = 0; i < keep; ++i) {
      cum += prob[i];
      if (cum >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (p.min_p > 0.0f) {
    const double floor = p.min_p * prob[0];
    std::size_t n = 1;
    while (n < keep && prob[n] >= floor) ++n;
    keep = n;
  }
  candidates_.resize(keep);
  double kept = 0.0;
  for (std::size_t i = 0; i < keep; ++i) kept += prob[i];
  for (std::size_t i = 0; i < keep; ++i) candidates_[i].second = static_cast<float>(prob[i] / kept);

  double r = uniform() * kept;
  for (std::size_t i = 0; i < keep; ++i) {
    r -= prob[i];
    if (r < 0) return candidates_[i].first;
  }
  return candidates_[keep - 1].first;  // rounding left r >= 0: the last kept token
}

}  // namespace whale
