// gate.h — DeepSeekMoE expert choice: softmax or sigmoid scores, the noaux_tc correction bias,
// group-limited top-k, normalisation and route scaling (DeepSeek-V3 §2.1.2; Gate.forward in
// DeepSeek's inference/model.py; MoEGate in the V2 and V3 Hugging Face models).
#pragma once

#include <cstdint>
#include <span>

#include "model/config.h"

namespace whale {

struct RoutingParams {
  std::int64_t n_experts = 0;
  std::int64_t top_k = 0;
  std::int64_t n_groups = 1;
  std::int64_t n_kept_groups = 1;
  ScoreFunc score_func = ScoreFunc::kSoftmax;
  TopkMethod method = TopkMethod::kGreedy;
  bool normalize = false;
  float route_scale = 1.0f;

  static RoutingParams from_config(const ModelConfig& c);
};

// Chooses top_k experts for one token from its router logits [n_experts]. `score_bias` is the
// correction bias (noaux_tc only; empty otherwise): it steers the choice but not the weights.
// Ties go to the lower index. Writes ids[top_k] (in descending biased-score order) and
// weights[top_k]. Uses `work` (at least 2 * n_experts floats) as scratch.
void route_token(std::span<const float> logits, std::span<const float> score_bias,
                 const RoutingParams& p, std::int32_t* ids, float* weights, float* work);

}  // namespace whale
