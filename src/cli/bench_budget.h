// bench_budget.h — what one token costs a model: bytes read to decode it and multiply-adds to
// prefill it, from the file's own tensor sizes (the denominators of `whale bench`'s rooflines).
#pragma once

#include <cstdint>
#include <string>

#include "format/model_files.h"
#include "model/config.h"

namespace whale::cli {

struct TokenBudget {
  // Decode: every weight a token touches, read once: all tensors but the routed experts and
  // the embedding table, plus (experts used / experts total) of the routed-expert bytes, plus
  // one embedding row (the whole table when the output projection is tied to it).
  std::uint64_t weight_bytes_per_token = 0;
  std::uint64_t routed_expert_bytes = 0;  // all routed experts, chosen or not
  // Weights multiplied per decoded token (the active parameters without the embedding
  // lookup), of which output_params are the output head's (the embedding table when tied).
  std::int64_t matmul_params_per_token = 0;
  std::int64_t output_params = 0;
  // Whether most matmul weight bytes are block-quantized (then the int8 peak bounds prefill).
  bool quantized = false;
  std::string main_dtype;  // the type holding the most matmul weight bytes
  // KV cache bytes read per token of context attended (f32 cache, every layer).
  std::uint64_t kv_bytes_per_context_token = 0;
};

// Multiply-adds × 2 per prompt token of a prefill of prompt_tokens: the output head runs for
// the last token only (a prompt's other logits are never read), every other weight for all.
double prefill_ops_per_token(const TokenBudget& b, std::int64_t prompt_tokens);

TokenBudget token_budget(const ModelFiles& files, const ModelConfig& config,
                         std::int64_t kv_floats_per_token_per_layer);

}  // namespace whale::cli
