// sampler.h — turns one position's logits into the next token: logit bias, repetition /
// frequency / presence penalties, then greedy or temperature sampling with top-k, top-p and
// min-p, from a seeded generator (same seed and settings, same tokens).
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <vector>

#include "util/status.h"

namespace whale {

struct SamplingParams {
  float temperature = 1.0f;         // <= 0: greedy (argmax)
  std::int32_t top_k = 0;           // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // 1: off; divides positive / multiplies negative logits
  float frequency_penalty = 0.0f;   // subtracted once per earlier occurrence
  float presence_penalty = 0.0f;    // subtracted once if the token occurred
  std::int32_t penalty_last_n = 256;  // how many recent tokens the penalties look at (-1: all)
  std::map<std::int32_t, float> logit_bias;  // added to the logit before anything else
  std::uint64_t seed = 0;
};

// Fails naming the parameter when a value is out of range.
Result<void> validate(const SamplingParams& p, std::int64_t vocab_size);

class Sampler {
 public:
  explicit Sampler(SamplingParams params);

  // Modifies `logits` in place (bias, penalties, temperature) and returns the chosen token.
  // `history` is every token so far (prompt and generated), for the penalties.
  std::int32_t sample(std::span<float> logits, std::span<const std::int32_t> history);

  // The probabilities the last call sampled from, for the kept candidates (after every
  // filter), as (token, probability) pairs in descending order. Greedy calls report the argmax
  // alone with probability 1.
  const std::vector<std::pair<std::int32_t, float>>& last_candidates() const { return candidates_; }

  const SamplingParams& params() const { return params_; }

 private:
  void apply_penalties(std::span<float> logits, std::span<const std::int32_t> history);
  double uniform();  // [0, 1) from 53 random bits: identical on every standard library

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<std::int32_t, float>> candidates_;
  std::map<std::int32_t, int> counts_;
};

}  // namespace whale
