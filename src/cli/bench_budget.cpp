// bench_budget.cpp — per-token bytes and multiply-adds of a model from its tensor directory.
#include "cli/bench_budget.h"

#include <algorithm>
#include <map>

#include "format/tensor_directory.h"
#include "quant/dtype.h"

namespace whale::cli {
namespace {

bool is_routed_expert(const std::string& name) {
  // llama.cpp merges each layer's routed experts into *_exps tensors; HF keeps one tensor per
  // expert under mlp.experts.N (the shared experts are mlp.shared_experts).
  return name.find("_exps.") != std::string::npos || name.find(".mlp.experts.") != std::string::npos;
}

bool is_embedding(const std::string& name) {
  return name == "token_embd.weight" || name == "model.embed_tokens.weight";
}

bool is_output(const std::string& name) { return name == "output.weight" || name == "lm_head.weight"; }

// The arithmetic of a tensor's prefill product. A GGUF's per-head attn_k_b (W_UK, [kv_lora,
// nope] per head) is rebuilt transposed in f32 at load for MLA's expanded prefill
// (mla.h, wk_expand), so its products there are f32 FMAs whatever the file's type.
Arithmetic prefill_arithmetic(const std::string& name, DType type) {
  if (name.ends_with("attn_k_b.weight")) return Arithmetic::kFp32;
  const DTypeTraits& t = dtype_traits(type);
  if (!t.is_quantized) return Arithmetic::kFp32;
  return t.block_elems == 32 ? Arithmetic::kInt8Blocks32 : Arithmetic::kInt8Blocks256;
}

}  // namespace

std::array<double, kArithmetics> prefill_ops_by_arithmetic(const TokenBudget& b, std::int64_t prompt_tokens) {
  std::array<double, kArithmetics> ops{};
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto head = static_cast<double>(b.output_params[i]);
    ops[i] = 2.0 * (static_cast<double>(b.params_per_token[i]) - head +
                    head / static_cast<double>(std::max<std::int64_t>(prompt_tokens, 1)));
  }
  const double mean_positions = static_cast<double>(std::max<std::int64_t>(prompt_tokens, 1) + 1) / 2.0;
  ops[static_cast<std::size_t>(Arithmetic::kFp32)] += b.attention_ops_per_context_token * mean_positions;
  return ops;
}

double prefill_ops_per_token(const TokenBudget& b, std::int64_t prompt_tokens) {
  const auto ops = prefill_ops_by_arithmetic(b, prompt_tokens);
  return ops[0] + ops[1] + ops[2];
}

TokenBudget token_budget(const ModelFiles& files, const ModelConfig& c,
                         std::int64_t kv_floats_per_token_per_layer) {
  TokenBudget b;
  bool has_output = false;
  for (const auto& t : files.tensors.all()) has_output = has_output || is_output(t.name);
  const bool tied = !has_output || (files.format == ModelFormat::kSafetensors && c.tie_word_embeddings);

  const double used_fraction = c.n_routed_experts > 0 ? static_cast<double>(c.num_experts_per_tok) /
                                                            static_cast<double>(c.n_routed_experts)
                                                      : 0.0;
  double bytes = 0.0;
  std::array<double, kArithmetics> params{};
  std::map<std::string, std::uint64_t> matmul_bytes_by_type;
  for (const auto& t : files.tensors.all()) {
    // MTP modules sit in layers past the main stack; decoding does not run them.
    if (layer_of_tensor(t.name) >= c.num_hidden_layers) continue;
    const auto nbytes = static_cast<double>(t.bytes.size());
    const auto nparams = static_cast<double>(t.numel());
    const bool matrix = t.shape.size() >= 2;
    if (is_embedding(t.name) && !tied) {
      bytes += nbytes / static_cast<double>(std::max<std::int64_t>(1, t.rows()));
      continue;
    }
    const auto kind = static_cast<std::size_t>(prefill_arithmetic(t.name, t.dtype));
    if (is_routed_expert(t.name)) {
      b.routed_expert_bytes += t.bytes.size();
      bytes += nbytes * used_fraction;
      params[kind] += nparams * used_fraction;
    } else {
      bytes += nbytes;
      params[kind] += nparams;
    }
    if (is_output(t.name) || (tied && is_embedding(t.name))) b.output_params[kind] += t.numel();
    if (matrix) matmul_bytes_by_type[std::string(dtype_name(t.dtype))] += t.bytes.size();
  }
  b.weight_bytes_per_token = static_cast<std::uint64_t>(bytes);
  for (std::size_t i = 0; i < params.size(); ++i) b.params_per_token[i] = static_cast<std::int64_t>(params[i]);
  std::uint64_t best = 0, quantized = 0, total = 0;
  for (const auto& [name, n] : matmul_bytes_by_type) {
    total += n;
    auto t = dtype_from_name(name);
    if (t && dtype_traits(*t).is_quantized) quantized += n;
    if (n > best) {
      best = n;
      b.main_dtype = name;
    }
  }
  b.quantized = 2 * quantized > total;
  b.kv_bytes_per_context_token = static_cast<std::uint64_t>(kv_floats_per_token_per_layer) *
                                 static_cast<std::uint64_t>(c.num_hidden_layers) * sizeof(float);
  const std::int64_t key_width = c.uses_mla() ? c.qk_head_dim() : c.head_dim;
  const std::int64_t value_width = c.uses_mla() ? c.v_head_dim : c.head_dim;
  b.attention_ops_per_context_token = 2.0 * static_cast<double>(key_width + value_width) *
                                      static_cast<double>(c.num_attention_heads) *
                                      static_cast<double>(c.num_hidden_layers);
  return b;
}

}  // namespace whale::cli
