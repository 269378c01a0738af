// config_gguf.cpp — ModelConfig from GGUF metadata, following the key names llama.cpp writes
// ("<arch>.block_count", "<arch>.attention.kv_lora_rank", ...), including the three DeepSeek
// layouts found in published files (see docs/gguf-deepseek.md).
#include <fmt/format.h>

#include "model/config.h"

namespace whale {
namespace {

class Keys {
 public:
  Keys(const Metadata& m, std::string arch) : m_(m), arch_(std::move(arch)) {}
  std::string key(std::string_view suffix) const { return fmt::format("{}.{}", arch_, suffix); }
  bool has(std::string_view suffix) const { return m_.contains(key(suffix)); }
  Result<std::int64_t> integer(std::string_view suffix) const { return m_.get_int(key(suffix)); }
  Result<std::int64_t> integer(std::string_view suffix, std::int64_t fallback) const {
    if (!has(suffix)) return fallback;
    return m_.get_int(key(suffix));
  }
  Result<double> number(std::string_view suffix, double fallback) const {
    if (!has(suffix)) return fallback;
    return m_.get_double(key(suffix));
  }
  Result<bool> boolean(std::string_view suffix, bool fallback) const {
    if (!has(suffix)) return fallback;
    return m_.get_bool(key(suffix));
  }

 private:
  const Metadata& m_;
  std::string arch_;
};

// a - b for values read from a file, which may be anything: an error instead of overflow.
Result<std::int64_t> checked_sub(std::int64_t a, std::int64_t b, std::string_view what) {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(a, b, &out)) return Error("{}: {} - {} overflows", what, a, b);
  return out;
}

// head_count_kv may be an array (one value per layer) in some files; all layers must agree.
Result<std::int64_t> uniform_count(const Metadata& m, const std::string& key, std::int64_t fallback) {
  const MetaValue* v = m.find(key);
  if (v == nullptr) return fallback;
  if (v->type() != MetaType::kArray) return m.get_int(key);
  WHALE_TRY(const MetaArray* a, v->as_array());
  if (a->items.empty()) return Error("metadata key '{}' is an empty array", key);
  WHALE_TRY(std::int64_t first, a->items[0].as_int());
  for (const auto& item : a->items) {
    WHALE_TRY(std::int64_t x, item.as_int());
    if (x != first) return Error("metadata key '{}': per-layer values differ; not supported", key);
  }
  return first;
}

// Published DeepSeek-V3/R1 GGUFs made before llama.cpp wrote the expert group keys: the model
// is recognised by its routing signature (sigmoid gating over 256 experts, 8 chosen, which no
// other released DeepSeek has), and its published grouping (8 groups, 4 kept) applies.
bool looks_like_deepseek_v3(const ModelConfig& c) {
  return c.scoring_func == ScoreFunc::kSigmoid && c.n_routed_experts == 256 &&
         c.num_experts_per_tok == 8;
}

Result<void> read_deepseek2(const Keys& k, const Metadata& m,
                            std::optional<std::pair<int, int>> groups_override, ModelConfig& c) {
  c.arch = Arch::kDeepSeek2;
  WHALE_TRY(c.q_lora_rank, k.integer("attention.q_lora_rank", 0));
  WHALE_TRY(c.kv_lora_rank, k.integer("attention.kv_lora_rank"));
  WHALE_TRY(c.qk_rope_head_dim, k.integer("rope.dimension_count"));
  // Layout (c) writes the MLA widths under *_mla keys and the absorbed widths under the plain
  // ones; layouts (a) and (b) have only the plain keys holding nope+rope and v.
  if (k.has("attention.key_length_mla")) {
    WHALE_TRY(const std::int64_t key_mla, k.integer("attention.key_length_mla"));
    WHALE_TRY(c.qk_nope_head_dim,
              checked_sub(key_mla, c.qk_rope_head_dim, k.key("attention.key_length_mla")));
    WHALE_TRY(c.v_head_dim, k.integer("attention.value_length_mla"));
  } else {
    WHALE_TRY(const std::int64_t key_len, k.integer("attention.key_length"));
    WHALE_TRY(c.qk_nope_head_dim,
              checked_sub(key_len, c.qk_rope_head_dim, k.key("attention.key_length")));
    WHALE_TRY(c.v_head_dim, k.integer("attention.value_length"));
  }
  // MLA has one latent per token whatever head_count_kv says (it is 1 in layout (c)).
  c.num_key_value_heads = c.num_attention_heads;

  WHALE_TRY(c.n_routed_experts, k.integer("expert_count", 0));
  WHALE_TRY(c.num_experts_per_tok, k.integer("expert_used_count", 0));
  WHALE_TRY(c.n_shared_experts, k.integer("expert_shared_count", 0));
  WHALE_TRY(c.moe_intermediate_size, k.integer("expert_feed_forward_length", 0));
  WHALE_TRY(c.first_k_dense_replace, k.integer("leading_dense_block_count", 0));
  WHALE_TRY(c.routed_scaling_factor, k.number("expert_weights_scale", 1.0));
  WHALE_TRY(const std::int64_t gating, k.integer("expert_gating_func", 1));
  if (gating == 1) c.scoring_func = ScoreFunc::kSoftmax;
  else if (gating == 2) c.scoring_func = ScoreFunc::kSigmoid;
  else return Error("metadata key '{}' = {} is not 1 (softmax) or 2 (sigmoid)",
                    k.key("expert_gating_func"), gating);
  WHALE_TRY(c.norm_topk_prob, k.boolean("expert_weights_norm", c.scoring_func == ScoreFunc::kSigmoid));

  const bool has_groups = k.has("expert_group_count");
  WHALE_TRY(c.n_group, k.integer("expert_group_count", 1));
  WHALE_TRY(c.topk_group, k.integer("expert_group_used_count", c.n_group));
  if (groups_override) {
    c.n_group = groups_override->first;
    c.topk_group = groups_override->second;
    c.notices.push_back(fmt::format("expert groups set by --moe-groups: {} groups, {} kept",
                                    c.n_group, c.topk_group));
  } else if (!has_groups && looks_like_deepseek_v3(c)) {
    c.n_group = 8;
    c.topk_group = 4;
    c.notices.push_back(
        "this GGUF predates the expert group keys; using DeepSeek-V3/R1's published routing "
        "(8 groups, 4 kept). Override with --moe-groups N,K");
  }
  if (c.scoring_func == ScoreFunc::kSigmoid) c.topk_method = TopkMethod::kNoauxTc;
  else if (c.n_group > 1) c.topk_method = TopkMethod::kGroupLimitedGreedy;
  else c.topk_method = TopkMethod::kGreedy;

  WHALE_TRY(c.num_nextn_predict_layers, k.integer("nextn_predict_layers", 0));
  // llama.cpp counts MTP layers in block_count.
  WHALE_TRY(c.num_hidden_layers, checked_sub(c.num_hidden_layers, c.num_nextn_predict_layers,
                                             k.key("nextn_predict_layers")));

  if (m.contains(k.key("rope.scaling.type"))) {
    WHALE_TRY(std::string type, m.get_string(k.key("rope.scaling.type")));
    if (type == "yarn") {
      c.rope_scaling.type = RopeScalingType::kYarn;
      WHALE_TRY(c.rope_scaling.factor, k.number("rope.scaling.factor", 1.0));
      WHALE_TRY(c.rope_scaling.original_max_position_embeddings,
                k.integer("rope.scaling.original_context_length", 0));
      WHALE_TRY(c.rope_scaling.beta_fast, k.number("rope.scaling.yarn_beta_fast", 32.0));
      WHALE_TRY(c.rope_scaling.beta_slow, k.number("rope.scaling.yarn_beta_slow", 1.0));
      // llama.cpp stores 0.1 * mscale_all_dim as yarn_log_multiplier.
      WHALE_TRY(const double log_mul, k.number("rope.scaling.yarn_log_multiplier", 0.0));
      c.rope_scaling.mscale_all_dim = log_mul / 0.1;
      c.rope_scaling.mscale = c.rope_scaling.mscale_all_dim;
    } else if (type != "none") {
      return Error("metadata key '{}' = '{}' is not supported for deepseek2",
                   k.key("rope.scaling.type"), type);
    }
  }
  return {};
}

}  // namespace

Result<ModelConfig> config_from_gguf(const Metadata& m,
                                     std::optional<std::pair<int, int>> groups_override) {
  WHALE_TRY(const std::string arch, m.get_string("general.architecture"));
  // Checked first, so an unsupported model says so rather than missing "<arch>.*" keys.
  if (arch != "deepseek2" && arch != "qwen2" && arch != "llama")
    return Error("general.architecture '{}' is not supported (deepseek2, qwen2, llama)", arch);
  Keys k(m, arch);
  ModelConfig c;
  c.name = arch;
  WHALE_TRY(c.hidden_size, k.integer("embedding_length"));
  WHALE_TRY(c.num_hidden_layers, k.integer("block_count"));
  WHALE_TRY(c.intermediate_size, k.integer("feed_forward_length", 0));
  WHALE_TRY(c.num_attention_heads, uniform_count(m, k.key("attention.head_count"), 0));
  WHALE_TRY(c.num_key_value_heads,
            uniform_count(m, k.key("attention.head_count_kv"), c.num_attention_heads));
  WHALE_TRY(c.max_position_embeddings, k.integer("context_length", 4096));
  WHALE_TRY(c.rms_norm_eps, k.number("attention.layer_norm_rms_epsilon", 1e-6));
  WHALE_TRY(c.rope_theta, k.number("rope.freq_base", 10000.0));

  // vocab_size is optional in llama.cpp files; the token list is authoritative.
  std::int64_t vocab = 0;
  if (const MetaValue* tokens = m.find("tokenizer.ggml.tokens")) {
    auto arr = tokens->as_array();
    if (arr.ok()) vocab = static_cast<std::int64_t>((*arr)->items.size());
  }
  WHALE_TRY(c.vocab_size, k.integer("vocab_size", vocab));

  if (arch == "deepseek2") {
    WHALE_TRY_VOID(read_deepseek2(k, m, groups_override, c));
  } else if (arch == "qwen2" || arch == "llama") {
    c.arch = arch == "qwen2" ? Arch::kQwen2 : Arch::kLlama;
    c.attention_bias = arch == "qwen2";
    WHALE_TRY(c.head_dim, k.integer("attention.key_length",
                                    c.hidden_size / std::max<std::int64_t>(1, c.num_attention_heads)));
    if (m.contains(k.key("rope.scaling.type"))) {
      WHALE_TRY(std::string type, m.get_string(k.key("rope.scaling.type")));
      if (type == "linear") {
        c.rope_scaling.type = RopeScalingType::kLinear;
        WHALE_TRY(c.rope_scaling.factor, k.number("rope.scaling.factor", 1.0));
      } else if (type != "none") {
        return Error("metadata key '{}' = '{}' is not supported", k.key("rope.scaling.type"), type);
      }
    }
    // Llama 3.1 GGUFs carry the llama3 scaling as a rope_freqs tensor, not as keys; the
    // weights layer reads that tensor.
  } else {
    return Error("general.architecture '{}' is not supported (deepseek2, qwen2, llama)", arch);
  }
  if (m.contains("tokenizer.ggml.bos_token_id"))
    c.bos_token_id = m.get_int_or("tokenizer.ggml.bos_token_id", 0);
  if (m.contains("tokenizer.ggml.eos_token_id"))
    c.eos_token_ids.push_back(m.get_int_or("tokenizer.ggml.eos_token_id", 0));
  auto ok = validate(c);
  if (!ok.ok()) return std::move(ok).error().context("GGUF metadata");
  return c;
}

Result<GenerationDefaults> generation_defaults_from_gguf(const Metadata& m) {
  GenerationDefaults g;
  // Written by recent llama.cpp converters from generation_config.json.
  if (m.contains("general.sampling.temp")) g.temperature = m.get_double_or("general.sampling.temp", 1.0);
  if (m.contains("general.sampling.top_p")) g.top_p = m.get_double_or("general.sampling.top_p", 1.0);
  if (m.contains("general.sampling.top_k")) g.top_k = m.get_int_or("general.sampling.top_k", 0);
  if (m.contains("tokenizer.ggml.bos_token_id")) g.bos_token_id = m.get_int_or("tokenizer.ggml.bos_token_id", 0);
  if (m.contains("tokenizer.ggml.eos_token_id"))
    g.eos_token_ids.push_back(m.get_int_or("tokenizer.ggml.eos_token_id", 0));
  return g;
}

}  // namespace whale
