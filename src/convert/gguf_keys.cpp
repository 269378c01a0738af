// gguf_keys.cpp — ModelConfig -> llama.cpp's general.* / <arch>.* keys (the inverse of
// model/config_gguf.cpp; DeepSeek in the newest MLA layout, (c) in docs/gguf-deepseek.md).
#include "convert/gguf_keys.h"

#include <fmt/format.h>

#include "model/rope.h"

namespace whale {
namespace {

std::uint32_t u32(std::int64_t v) { return static_cast<std::uint32_t>(v); }

}  // namespace

Result<Metadata> gguf_model_metadata(const ModelConfig& c, const std::string& name,
                                     std::uint32_t file_type,
                                     const std::optional<GenerationDefaults>& gen) {
  const std::string arch(arch_name(c.arch));
  Metadata m;
  auto a = [&](std::string_view key, MetaValue v) {
    m.set(fmt::format("{}.{}", arch, key), std::move(v));
  };
  m.set("general.architecture", meta_str(arch));
  m.set("general.name", meta_str(name));
  m.set("general.file_type", meta_u32(file_type));
  m.set("general.quantization_version", meta_u32(kGgmlQuantizationVersion));
  if (gen) {
    if (gen->temperature)
      m.set("general.sampling.temp", meta_f32(static_cast<float>(*gen->temperature)));
    if (gen->top_p) m.set("general.sampling.top_p", meta_f32(static_cast<float>(*gen->top_p)));
    if (gen->top_k)
      m.set("general.sampling.top_k", meta_i32(static_cast<std::int32_t>(*gen->top_k)));
  }
  // llama.cpp counts the MTP blocks in block_count and names them with nextn_predict_layers.
  a("vocab_size", meta_u32(u32(c.vocab_size)));
  a("block_count", meta_u32(u32(c.num_hidden_layers + c.num_nextn_predict_layers)));
  a("context_length", meta_u32(u32(c.max_position_embeddings)));
  a("embedding_length", meta_u32(u32(c.hidden_size)));
  a("feed_forward_length", meta_u32(u32(c.intermediate_size)));
  a("attention.head_count", meta_u32(u32(c.num_attention_heads)));
  a("attention.layer_norm_rms_epsilon", meta_f32(static_cast<float>(c.rms_norm_eps)));
  a("rope.freq_base", meta_f32(static_cast<float>(c.rope_theta)));

  if (c.arch == Arch::kDeepSeek2) {
    if (c.moe_layer_freq != 1)
      return Error(
          "config.json: moe_layer_freq {} cannot be expressed in GGUF (llama.cpp "
          "assumes every layer after leading_dense_block_count is MoE)",
          c.moe_layer_freq);
    // Layout (c): one latent "head" whose key is [kv_lora_rank | rope] and value kv_lora_rank
    // (the absorbed form), with the per-head MLA widths under *_mla.
    a("attention.head_count_kv", meta_u32(1));
    a("attention.key_length", meta_u32(u32(c.kv_lora_rank + c.qk_rope_head_dim)));
    a("attention.value_length", meta_u32(u32(c.kv_lora_rank)));
    a("attention.key_length_mla", meta_u32(u32(c.qk_nope_head_dim + c.qk_rope_head_dim)));
    a("attention.value_length_mla", meta_u32(u32(c.v_head_dim)));
    a("rope.dimension_count", meta_u32(u32(c.qk_rope_head_dim)));
    if (c.q_lora_rank > 0) a("attention.q_lora_rank", meta_u32(u32(c.q_lora_rank)));
    a("attention.kv_lora_rank", meta_u32(u32(c.kv_lora_rank)));
    a("leading_dense_block_count", meta_u32(u32(c.first_k_dense_replace)));
    a("expert_feed_forward_length", meta_u32(u32(c.moe_intermediate_size)));
    a("expert_count", meta_u32(u32(c.n_routed_experts)));
    a("expert_used_count", meta_u32(u32(c.num_experts_per_tok)));
    a("expert_shared_count", meta_u32(u32(c.n_shared_experts)));
    a("expert_weights_scale", meta_f32(static_cast<float>(c.routed_scaling_factor)));
    a("expert_weights_norm", meta_bool(c.norm_topk_prob));
    a("expert_gating_func", meta_u32(c.scoring_func == ScoreFunc::kSigmoid ? 2 : 1));
    a("expert_group_count", meta_u32(u32(c.n_group)));
    a("expert_group_used_count", meta_u32(u32(c.topk_group)));
    if (c.num_nextn_predict_layers > 0)
      a("nextn_predict_layers", meta_u32(u32(c.num_nextn_predict_layers)));
    const RopeScaling& rs = c.rope_scaling;
    if (rs.type == RopeScalingType::kYarn) {
      a("rope.scaling.type", meta_str("yarn"));
      a("rope.scaling.factor", meta_f32(static_cast<float>(rs.factor)));
      a("rope.scaling.original_context_length", meta_u32(u32(rs.original_max_position_embeddings)));
      // llama.cpp's convention: 0.1 * mscale_all_dim (the ln-factor multiplier of YaRN's mscale).
      a("rope.scaling.yarn_log_multiplier", meta_f32(static_cast<float>(0.1 * rs.mscale_all_dim)));
      a("rope.scaling.yarn_beta_fast", meta_f32(static_cast<float>(rs.beta_fast)));
      a("rope.scaling.yarn_beta_slow", meta_f32(static_cast<float>(rs.beta_slow)));
    } else if (rs.type != RopeScalingType::kNone) {
      return Error("config.json: rope_scaling of this type is not supported for DeepSeek (yarn)");
    }
  } else {
    a("attention.head_count_kv", meta_u32(u32(c.num_key_value_heads)));
    a("attention.key_length", meta_u32(u32(c.head_dim)));
    a("attention.value_length", meta_u32(u32(c.head_dim)));
    a("rope.dimension_count", meta_u32(u32(c.head_dim)));
    if (c.rope_scaling.type == RopeScalingType::kLinear) {
      a("rope.scaling.type", meta_str("linear"));
      a("rope.scaling.factor", meta_f32(static_cast<float>(c.rope_scaling.factor)));
    } else if (c.rope_scaling.type == RopeScalingType::kYarn) {
      return Error("config.json: yarn rope_scaling is not supported for {}", arch);
    }
    // llama3 scaling travels as the rope_freqs.weight tensor (llama3_rope_freq_factors).
  }
  return m;
}

std::vector<float> llama3_rope_freq_factors(const ModelConfig& c) {
  if (c.rope_scaling.type != RopeScalingType::kLlama3) return {};
  ModelConfig plain = c;
  plain.rope_scaling = RopeScaling{};
  const RopeTable scaled = make_rope_table(c, c.head_dim, RopeStyle::kNeox);
  const RopeTable base = make_rope_table(plain, c.head_dim, RopeStyle::kNeox);
  std::vector<float> out(scaled.inv_freq.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(base.inv_freq[i] / scaled.inv_freq[i]);
  return out;
}

}  // namespace whale
