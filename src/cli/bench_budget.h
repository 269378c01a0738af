// bench_budget.h — what one token costs a model: bytes read to decode it and multiply-adds to
// prefill it, from the file's own tensor sizes (the denominators of `whale bench`'s rooflines).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "format/model_files.h"
#include "model/config.h"

namespace whale::cli {

// The arithmetic a weight's prefill product runs, each with its own measured peak: the int8
// chain of the 256-element K-quant and i-quant blocks (accumulated in int32 per block), the
// int8 chain of the 32-element blocks (Q8_0, Q4_0 ... IQ4_NL: a convert and an FMA with the
// block scale every 32 products), or f32 FMA (float weights, and vectors).
enum class Arithmetic { kInt8Blocks256, kInt8Blocks32, kFp32 };
constexpr int kArithmetics = 3;

struct TokenBudget {
  // Decode: every weight a token touches, read once: all tensors but the routed experts and
  // the embedding table, plus (experts used / experts total) of the routed-expert bytes, plus
  // one embedding row (the whole table when the output projection is tied to it).
  std::uint64_t weight_bytes_per_token = 0;
  std::uint64_t routed_expert_bytes = 0;  // all routed experts, chosen or not
  // Weights multiplied per decoded token (the active parameters without the embedding
  // lookup), of which output_params are the output head's (the embedding table when tied), by
  // the arithmetic their prefill runs (index: Arithmetic).
  std::array<std::int64_t, kArithmetics> params_per_token{};
  std::array<std::int64_t, kArithmetics> output_params{};
  // Whether most matmul weight bytes are block-quantized (then the int8 peak bounds prefill).
  bool quantized = false;
  std::string main_dtype;  // the type holding the most matmul weight bytes
  // KV cache bytes read per token of context attended (f32 cache, every layer).
  std::uint64_t kv_bytes_per_context_token = 0;
  // Multiply-adds × 2 of the attention itself per query and attended position, all heads and
  // layers: q·k over the key width and the weighted sum over the value width, in f32 (the
  // attention kernels' arithmetic). Prompts run MLA in the expanded form (keys qk_nope +
  // qk_rope wide, values v_head_dim).
  double attention_ops_per_context_token = 0.0;
};

// Multiply-adds × 2 per prompt token of a prefill of prompt_tokens: the output head runs for
// the last token only (a prompt's other logits are never read), every other weight for all,
// and the causal attention of prompt token i over i + 1 positions, (P + 1) / 2 on average (f32).
// By arithmetic (index: Arithmetic), and their sum.
std::array<double, kArithmetics> prefill_ops_by_arithmetic(const TokenBudget& b, std::int64_t prompt_tokens);
double prefill_ops_per_token(const TokenBudget& b, std::int64_t prompt_tokens);

TokenBudget token_budget(const ModelFiles& files, const ModelConfig& config,
                         std::int64_t kv_floats_per_token_per_layer);

}  // namespace whale::cli
