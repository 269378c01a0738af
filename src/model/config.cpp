// config.cpp — derived quantities and validation shared by both config readers.
#include "model/config.h"

#include <cmath>

namespace whale {

std::string_view arch_name(Arch a) {
  switch (a) {
    case Arch::kDeepSeek2: return "deepseek2";
    case Arch::kQwen2: return "qwen2";
    case Arch::kLlama: return "llama";
  }
  return "unknown";
}

bool ModelConfig::is_moe_layer(std::int64_t layer) const {
  return n_routed_experts > 0 && layer >= first_k_dense_replace &&
         layer % std::max<std::int64_t>(1, moe_layer_freq) == 0;
}

namespace {
// DeepSeek's yarn_get_mscale: 0.1 * mscale * ln(scale) + 1 for scale > 1.
double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}
}  // namespace

double ModelConfig::attention_scale() const {
  const double d = arch == Arch::kDeepSeek2 ? static_cast<double>(qk_head_dim())
                                            : static_cast<double>(head_dim);
  double scale = 1.0 / std::sqrt(d);
  if (arch == Arch::kDeepSeek2 && rope_scaling.type == RopeScalingType::kYarn &&
      rope_scaling.mscale_all_dim != 0.0) {
    const double m = yarn_get_mscale(rope_scaling.factor, rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

Result<void> validate(const ModelConfig& c) {
  // 2^24 is far above any real model's sizes and keeps products of two sizes (heads x head
  // dim, hidden x ffn width) far inside 64 bits, whatever a hostile file claims.
  constexpr std::int64_t kMaxSize = std::int64_t{1} << 24;
  auto positive = [](std::int64_t v, const char* name) -> Result<void> {
    if (v <= 0 || v > kMaxSize) return Error("{} = {} is not a valid size", name, v);
    return {};
  };
  if (c.num_nextn_predict_layers < 0 || c.num_nextn_predict_layers > kMaxSize)
    return Error("num_nextn_predict_layers = {} is not a valid count", c.num_nextn_predict_layers);
  if (c.n_routed_experts < 0 || c.n_routed_experts > kMaxSize)
    return Error("n_routed_experts = {} is not a valid count", c.n_routed_experts);
  WHALE_TRY_VOID(positive(c.vocab_size, "vocab_size"));
  WHALE_TRY_VOID(positive(c.hidden_size, "hidden_size"));
  WHALE_TRY_VOID(positive(c.num_hidden_layers, "num_hidden_layers"));
  WHALE_TRY_VOID(positive(c.num_attention_heads, "num_attention_heads"));
  WHALE_TRY_VOID(positive(c.num_key_value_heads, "num_key_value_heads"));
  if (c.rms_norm_eps <= 0 || !std::isfinite(c.rms_norm_eps))
    return Error("rms_norm_eps = {} must be positive", c.rms_norm_eps);
  if (c.rope_theta <= 0 || !std::isfinite(c.rope_theta))
    return Error("rope_theta = {} must be positive", c.rope_theta);
  if (c.arch == Arch::kDeepSeek2) {
    if (c.q_lora_rank < 0) return Error("q_lora_rank = {} is negative", c.q_lora_rank);
    WHALE_TRY_VOID(positive(c.kv_lora_rank, "kv_lora_rank"));
    WHALE_TRY_VOID(positive(c.qk_nope_head_dim, "qk_nope_head_dim"));
    WHALE_TRY_VOID(positive(c.qk_rope_head_dim, "qk_rope_head_dim"));
    WHALE_TRY_VOID(positive(c.v_head_dim, "v_head_dim"));
    if (c.qk_rope_head_dim % 2 != 0)
      return Error("qk_rope_head_dim = {} must be even", c.qk_rope_head_dim);
  } else {
    WHALE_TRY_VOID(positive(c.head_dim, "head_dim"));
    if (c.head_dim % 2 != 0) return Error("head_dim = {} must be even", c.head_dim);
    if (c.num_attention_heads % c.num_key_value_heads != 0)
      return Error("num_attention_heads = {} is not a multiple of num_key_value_heads = {}",
                   c.num_attention_heads, c.num_key_value_heads);
  }
  if (c.first_k_dense_replace < c.num_hidden_layers || !c.is_moe())
    WHALE_TRY_VOID(positive(c.intermediate_size, "intermediate_size"));
  if (c.is_moe()) {
    WHALE_TRY_VOID(positive(c.moe_intermediate_size, "moe_intermediate_size"));
    WHALE_TRY_VOID(positive(c.num_experts_per_tok, "num_experts_per_tok"));
    if (c.num_experts_per_tok > c.n_routed_experts)
      return Error("num_experts_per_tok = {} exceeds n_routed_experts = {}",
                   c.num_experts_per_tok, c.n_routed_experts);
    if (c.n_shared_experts < 0) return Error("n_shared_experts = {} is negative", c.n_shared_experts);
    if (c.n_group < 1 || c.n_routed_experts % c.n_group != 0)
      return Error("n_routed_experts = {} is not divisible by n_group = {}", c.n_routed_experts,
                   c.n_group);
    if (c.topk_group < 1 || c.topk_group > c.n_group)
      return Error("topk_group = {} is outside [1, n_group = {}]", c.topk_group, c.n_group);
    if (c.num_experts_per_tok > c.topk_group * (c.n_routed_experts / c.n_group))
      return Error("num_experts_per_tok = {} exceeds the {} experts of {} kept groups",
                   c.num_experts_per_tok, c.topk_group * (c.n_routed_experts / c.n_group),
                   c.topk_group);
    if (c.topk_method == TopkMethod::kNoauxTc && c.n_routed_experts / c.n_group < 2)
      return Error("noaux_tc routing needs at least 2 experts per group, has {}",
                   c.n_routed_experts / c.n_group);
    if (c.moe_layer_freq < 1) return Error("moe_layer_freq = {} must be >= 1", c.moe_layer_freq);
  }
  const auto& rs = c.rope_scaling;
  if (rs.type != RopeScalingType::kNone) {
    if (!(rs.factor > 0) || !std::isfinite(rs.factor))
      return Error("rope_scaling.factor = {} must be positive", rs.factor);
    if ((rs.type == RopeScalingType::kYarn || rs.type == RopeScalingType::kLlama3) &&
        rs.original_max_position_embeddings <= 0)
      return Error("rope_scaling.original_max_position_embeddings is missing");
    if (rs.type == RopeScalingType::kLlama3 && rs.high_freq_factor <= rs.low_freq_factor)
      return Error("rope_scaling: high_freq_factor {} must exceed low_freq_factor {}",
                   rs.high_freq_factor, rs.low_freq_factor);
  }
  return {};
}

}  // namespace whale
