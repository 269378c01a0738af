// model_info.cpp — parameter counts and cache geometry for `whale info`.
#include "model/model_info.h"

#include <fmt/format.h>

#include "format/tensor_directory.h"

namespace whale {

std::int64_t ModelSummary::kv_values_per_token_per_layer() const {
  const ModelConfig& c = config;
  if (c.uses_mla()) return c.kv_lora_rank + c.qk_rope_head_dim;
  return 2 * c.num_key_value_heads * c.head_dim;
}

std::uint64_t ModelSummary::kv_cache_bytes(std::int64_t n_tokens, std::size_t bytes_per_value) const {
  return static_cast<std::uint64_t>(kv_values_per_token_per_layer()) *
         static_cast<std::uint64_t>(config.num_hidden_layers) *
         static_cast<std::uint64_t>(n_tokens) * bytes_per_value;
}

Result<ModelConfig> read_model_config(const ModelFiles& files,
                                      std::optional<std::pair<int, int>> moe_groups) {
  if (files.format == ModelFormat::kGguf) {
    auto c = config_from_gguf(files.gguf_metadata, moe_groups);
    if (!c.ok()) return std::move(c).error().context("{}", files.path.string());
    return c;
  }
  auto c = config_from_hf_json(files.hf_config_json);
  if (!c.ok()) return std::move(c).error().context("{}", files.path.string());
  return c;
}

namespace {
// Tensors of MTP modules: HF and llama.cpp both number them as layers past the main ones.
bool is_mtp_tensor(std::string_view name, const ModelConfig& c) {
  if (c.num_nextn_predict_layers <= 0) return false;
  const std::int64_t layer = layer_of_tensor(name);
  return layer >= c.num_hidden_layers && layer - c.num_hidden_layers < c.num_nextn_predict_layers;
}
}  // namespace

Result<ModelSummary> summarize_model(const ModelFiles& files, const ModelConfig& config) {
  ModelSummary s;
  s.config = config;
  s.format = files.format;
  s.file_bytes = files.total_bytes();
  s.n_files = files.files.size();
  s.n_tensors = files.tensors.size();
  for (const auto& t : files.tensors.all()) {
    const std::int64_t n = t.numel();
    s.total_params += n;
    if (is_mtp_tensor(t.name, config)) s.mtp_params += n;
    auto& u = s.dtypes[std::string(dtype_name(t.dtype))];
    u.tensors += 1;
    u.params += n;
    u.bytes += t.bytes.size();
  }
  const ModelConfig& c = config;
  s.active_params = s.total_params - s.mtp_params;
  if (c.is_moe()) {
    std::int64_t moe_layers = 0;
    for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) moe_layers += c.is_moe_layer(l) ? 1 : 0;
    // Checked: the sizes come from the file, and only validate()'s per-field bounds hold.
    const std::int64_t unused = c.n_routed_experts - c.num_experts_per_tok;
    std::int64_t inactive = 0;
    if (__builtin_mul_overflow(std::int64_t{3} * c.hidden_size, c.moe_intermediate_size, &inactive) ||
        __builtin_mul_overflow(inactive, unused, &inactive) ||
        __builtin_mul_overflow(inactive, moe_layers, &inactive) || inactive > s.active_params)
      return Error("the config's expert sizes ({} experts of {} x {} in {} layers) exceed the {} "
                   "parameters the tensors hold", c.n_routed_experts, c.hidden_size,
                   c.moe_intermediate_size, moe_layers, s.active_params);
    s.active_params -= inactive;
    std::string groups = c.n_group > 1 ? fmt::format(", {} groups/{} kept", c.n_group, c.topk_group) : "";
    s.experts = fmt::format("{} routed x {} wide ({} used{}, {} scores{}) + {} shared, {} MoE layers "
                            "(first {} dense)",
                            c.n_routed_experts, c.moe_intermediate_size, c.num_experts_per_tok, groups,
                            c.scoring_func == ScoreFunc::kSigmoid ? "sigmoid" : "softmax",
                            c.topk_method == TopkMethod::kNoauxTc ? " + bias" : "", c.n_shared_experts,
                            moe_layers, c.first_k_dense_replace);
  } else {
    s.experts = "none (dense)";
  }
  if (c.uses_mla()) {
    s.attention = fmt::format("MLA, {} heads, q_lora {}, kv_lora {}, qk_nope {}, qk_rope {}, v {}",
                              c.num_attention_heads,
                              c.q_lora_rank > 0 ? fmt::format("{}", c.q_lora_rank) : "none",
                              c.kv_lora_rank, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim);
  } else {
    s.attention = fmt::format("{} heads, {} KV heads (GQA), head dim {}{}", c.num_attention_heads,
                              c.num_key_value_heads, c.head_dim, c.attention_bias ? ", qkv bias" : "");
  }
  return s;
}

}  // namespace whale
