// config.h — one typed model configuration for every supported architecture, read once from
// a Hugging Face config.json or from GGUF metadata, then validated and never guessed again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/metadata.h"
#include "util/status.h"

namespace whale {

enum class Arch {
  kDeepSeek2,  // DeepSeek-V2, V2-Lite, V3, R1 (GGUF arch "deepseek2")
  kQwen2,      // R1-Distill-Qwen
  kLlama,      // R1-Distill-Llama
};
std::string_view arch_name(Arch a);  // "deepseek2", "qwen2", "llama" (GGUF spelling)

enum class RopeScalingType { kNone, kLinear, kYarn, kLlama3 };
enum class ScoreFunc { kSoftmax, kSigmoid };
// How experts are picked: plain top-k, DeepSeek-V2's group-limited greedy (group score = max),
// or DeepSeek-V3's noaux_tc (bias-corrected sigmoid, group score = sum of the top two).
enum class TopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;
  std::int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0;      // YaRN
  double beta_slow = 1.0;       // YaRN
  double mscale = 1.0;          // YaRN
  double mscale_all_dim = 0.0;  // YaRN (DeepSeek); 0 means absent
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
};

struct ModelConfig {
  Arch arch = Arch::kLlama;
  std::string name;  // architecture string as found ("DeepseekV3ForCausalLM", "deepseek2")

  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;  // dense FFN width
  std::int64_t num_hidden_layers = 0;  // main decoder layers, MTP layers not included
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::int64_t head_dim = 0;           // Qwen2/Llama per-head width
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;         // q/k/v biases (Qwen2: always)

  // Multi-head Latent Attention (DeepSeek).
  std::int64_t q_lora_rank = 0;        // 0: no low-rank query path (V2-Lite)
  std::int64_t kv_lora_rank = 0;
  std::int64_t qk_nope_head_dim = 0;
  std::int64_t qk_rope_head_dim = 0;
  std::int64_t v_head_dim = 0;

  // DeepSeekMoE.
  std::int64_t n_routed_experts = 0;   // 0: dense model
  std::int64_t n_shared_experts = 0;
  std::int64_t num_experts_per_tok = 0;
  std::int64_t moe_intermediate_size = 0;
  std::int64_t first_k_dense_replace = 0;
  std::int64_t moe_layer_freq = 1;
  std::int64_t n_group = 1;
  std::int64_t topk_group = 1;
  ScoreFunc scoring_func = ScoreFunc::kSoftmax;
  TopkMethod topk_method = TopkMethod::kGreedy;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  std::int64_t num_nextn_predict_layers = 0;  // MTP modules after the main layers

  // Tokens the config names (the tokenizer files are authoritative where they disagree).
  std::optional<std::int64_t> bos_token_id;
  std::vector<std::int64_t> eos_token_ids;

  // Things whale decided that the file did not say (shown to the user as notices).
  std::vector<std::string> notices;

  bool is_moe() const { return n_routed_experts > 0; }
  bool uses_mla() const { return arch == Arch::kDeepSeek2; }
  // Whether decoder layer `layer` uses routed experts (DeepSeek's first_k_dense_replace and
  // moe_layer_freq rule).
  bool is_moe_layer(std::int64_t layer) const;
  std::int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  // YaRN's softmax-scale correction (DeepSeek applies mscale^2 to the 1/sqrt(d) scale).
  double attention_scale() const;
};

// Sampling defaults a model ships with (generation_config.json or GGUF metadata).
struct GenerationDefaults {
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::optional<std::int64_t> bos_token_id;
  std::vector<std::int64_t> eos_token_ids;
};

Result<ModelConfig> config_from_hf_json(std::string_view config_json);
Result<GenerationDefaults> generation_defaults_from_hf_json(std::string_view json_text);
// `moe_groups_override` is the user's --moe-groups N,K for GGUFs that lack the group keys.
Result<ModelConfig> config_from_gguf(const Metadata& metadata,
                                     std::optional<std::pair<int, int>> moe_groups_override = {});
Result<GenerationDefaults> generation_defaults_from_gguf(const Metadata& metadata);
Result<void> validate(const ModelConfig& c);

}  // namespace whale
