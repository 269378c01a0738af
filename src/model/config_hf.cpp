// config_hf.cpp — ModelConfig from a Hugging Face config.json. Defaults are those of the
// transformers / DeepSeek configuration classes for fields a file leaves out
// (DeepseekV3Config, DeepseekV2Config, Qwen2Config, LlamaConfig).
#include <nlohmann/json.hpp>

#include "model/config.h"

namespace whale {
namespace {

using nlohmann::json;

// Field readers that accept absent or null values (falling back) and reject wrong types.
class Fields {
 public:
  explicit Fields(const json& j) : j_(j) {}

  bool is_null(const char* key) const {
    const auto it = j_.find(key);
    return it != j_.end() && it->is_null();
  }

  Result<std::int64_t> integer(const char* key, std::int64_t fallback) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) return Error("config.json: \"{}\" must be an integer", key);
    return it->get<std::int64_t>();
  }
  Result<double> number(const char* key, double fallback) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_number()) return Error("config.json: \"{}\" must be a number", key);
    return it->get<double>();
  }
  Result<bool> boolean(const char* key, bool fallback) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) return Error("config.json: \"{}\" must be true or false", key);
    return it->get<bool>();
  }
  Result<std::string> string(const char* key, std::string fallback) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_string()) return Error("config.json: \"{}\" must be a string", key);
    return it->get<std::string>();
  }
  // An id or a list of ids ("eos_token_id": 1 or [1, 2]).
  Result<std::vector<std::int64_t>> ids(const char* key) const {
    const auto it = j_.find(key);
    std::vector<std::int64_t> out;
    if (it == j_.end() || it->is_null()) return out;
    if (it->is_number_integer()) {
      out.push_back(it->get<std::int64_t>());
      return out;
    }
    if (!it->is_array()) return Error("config.json: \"{}\" must be an id or a list of ids", key);
    for (const auto& v : *it) {
      if (!v.is_number_integer()) return Error("config.json: \"{}\" holds a non-integer", key);
      out.push_back(v.get<std::int64_t>());
    }
    return out;
  }

 private:
  const json& j_;
};

Result<RopeScaling> read_rope_scaling(const json& j) {
  RopeScaling rs;
  const auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) return rs;
  if (!it->is_object()) return Error("config.json: \"rope_scaling\" must be an object");
  Fields f(*it);
  WHALE_TRY(std::string type, f.string("type", ""));
  if (type.empty()) {
    WHALE_TRY(type, f.string("rope_type", "default"));
  }
  if (type == "default") return rs;
  if (type == "yarn") rs.type = RopeScalingType::kYarn;
  else if (type == "linear") rs.type = RopeScalingType::kLinear;
  else if (type == "llama3") rs.type = RopeScalingType::kLlama3;
  else return Error("config.json: rope_scaling type '{}' is not supported (yarn, linear, llama3)", type);
  WHALE_TRY(rs.factor, f.number("factor", 1.0));
  WHALE_TRY(rs.original_max_position_embeddings, f.integer("original_max_position_embeddings", 0));
  WHALE_TRY(rs.beta_fast, f.number("beta_fast", 32.0));
  WHALE_TRY(rs.beta_slow, f.number("beta_slow", 1.0));
  WHALE_TRY(rs.mscale, f.number("mscale", 1.0));
  WHALE_TRY(rs.mscale_all_dim, f.number("mscale_all_dim", 0.0));
  WHALE_TRY(rs.low_freq_factor, f.number("low_freq_factor", 1.0));
  WHALE_TRY(rs.high_freq_factor, f.number("high_freq_factor", 4.0));
  return rs;
}

Result<void> read_deepseek(const Fields& f, bool v3, ModelConfig& c) {
  c.arch = Arch::kDeepSeek2;
  WHALE_TRY(c.vocab_size, f.integer("vocab_size", v3 ? 129280 : 102400));
  WHALE_TRY(c.hidden_size, f.integer("hidden_size", v3 ? 7168 : 4096));
  WHALE_TRY(c.intermediate_size, f.integer("intermediate_size", v3 ? 18432 : 11008));
  WHALE_TRY(c.moe_intermediate_size, f.integer("moe_intermediate_size", v3 ? 2048 : 1407));
  WHALE_TRY(c.num_hidden_layers, f.integer("num_hidden_layers", v3 ? 61 : 30));
  WHALE_TRY(c.num_nextn_predict_layers, f.integer("num_nextn_predict_layers", v3 ? 1 : 0));
  WHALE_TRY(c.num_attention_heads, f.integer("num_attention_heads", v3 ? 128 : 32));
  WHALE_TRY(c.num_key_value_heads, f.integer("num_key_value_heads", c.num_attention_heads));
  WHALE_TRY(c.n_shared_experts, f.integer("n_shared_experts", v3 ? 1 : 0));
  WHALE_TRY(c.n_routed_experts, f.integer("n_routed_experts", v3 ? 256 : 0));
  WHALE_TRY(c.routed_scaling_factor, f.number("routed_scaling_factor", v3 ? 2.5 : 1.0));
  WHALE_TRY(c.kv_lora_rank, f.integer("kv_lora_rank", 512));
  // An explicit null (DeepSeek-V2-Lite) means no low-rank query path; only an absent key takes
  // the class default.
  WHALE_TRY(c.q_lora_rank, f.integer("q_lora_rank", f.is_null("q_lora_rank") ? 0 : 1536));
  WHALE_TRY(c.qk_rope_head_dim, f.integer("qk_rope_head_dim", 64));
  WHALE_TRY(c.v_head_dim, f.integer("v_head_dim", 128));
  WHALE_TRY(c.qk_nope_head_dim, f.integer("qk_nope_head_dim", 128));
  WHALE_TRY(std::string method, f.string("topk_method", v3 ? "noaux_tc" : "greedy"));
  if (method == "noaux_tc") c.topk_method = TopkMethod::kNoauxTc;
  else if (method == "group_limited_greedy") c.topk_method = TopkMethod::kGroupLimitedGreedy;
  else if (method == "greedy" || method == "gready") c.topk_method = TopkMethod::kGreedy;
  else return Error("config.json: topk_method '{}' is not supported", method);
  WHALE_TRY(c.n_group, f.integer("n_group", v3 ? 8 : 1));
  WHALE_TRY(c.topk_group, f.integer("topk_group", v3 ? 4 : 1));
  WHALE_TRY(c.num_experts_per_tok, f.integer("num_experts_per_tok", v3 ? 8 : 0));
  WHALE_TRY(c.moe_layer_freq, f.integer("moe_layer_freq", 1));
  WHALE_TRY(c.first_k_dense_replace, f.integer("first_k_dense_replace", v3 ? 3 : 0));
  WHALE_TRY(c.norm_topk_prob, f.boolean("norm_topk_prob", v3));
  WHALE_TRY(std::string scoring, f.string("scoring_func", v3 ? "sigmoid" : "softmax"));
  if (scoring == "sigmoid") c.scoring_func = ScoreFunc::kSigmoid;
  else if (scoring == "softmax") c.scoring_func = ScoreFunc::kSoftmax;
  else return Error("config.json: scoring_func '{}' is not supported", scoring);
  if (c.topk_method == TopkMethod::kGreedy) {
    // Plain greedy top-k ignores groups; normalise so validation sees one group.
    c.n_group = 1;
    c.topk_group = 1;
  }
  WHALE_TRY(c.max_position_embeddings, f.integer("max_position_embeddings", v3 ? 4096 : 2048));
  WHALE_TRY(c.attention_bias, f.boolean("attention_bias", false));
  return {};
}

}  // namespace

Result<ModelConfig> config_from_hf_json(std::string_view config_json) {
  const json j = json::parse(config_json.begin(), config_json.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error("config.json is not a JSON object");
  Fields f(j);
  ModelConfig c;
  WHALE_TRY(const std::string model_type, f.string("model_type", ""));
  std::string architecture;
  if (auto it = j.find("architectures"); it != j.end() && it->is_array() && !it->empty() &&
                                         (*it)[0].is_string())
    architecture = (*it)[0].get<std::string>();
  c.name = architecture.empty() ? model_type : architecture;

  if (model_type == "deepseek_v3" || architecture == "DeepseekV3ForCausalLM") {
    WHALE_TRY_VOID(read_deepseek(f, true, c));
  } else if (model_type == "deepseek_v2" || architecture == "DeepseekV2ForCausalLM") {
    WHALE_TRY_VOID(read_deepseek(f, false, c));
  } else if (model_type == "qwen2" || architecture == "Qwen2ForCausalLM") {
    c.arch = Arch::kQwen2;
    WHALE_TRY(c.vocab_size, f.integer("vocab_size", 151936));
    WHALE_TRY(c.hidden_size, f.integer("hidden_size", 4096));
    WHALE_TRY(c.intermediate_size, f.integer("intermediate_size", 22016));
    WHALE_TRY(c.num_hidden_layers, f.integer("num_hidden_layers", 32));
    WHALE_TRY(c.num_attention_heads, f.integer("num_attention_heads", 32));
    WHALE_TRY(c.num_key_value_heads, f.integer("num_key_value_heads", 32));
    WHALE_TRY(c.max_position_embeddings, f.integer("max_position_embeddings", 32768));
    c.attention_bias = true;  // Qwen2 attention always has q/k/v biases
    WHALE_TRY(const bool sliding, f.boolean("use_sliding_window", false));
    if (sliding) return Error("config.json: use_sliding_window is not supported");
  } else if (model_type == "llama" || architecture == "LlamaForCausalLM") {
    c.arch = Arch::kLlama;
    WHALE_TRY(c.vocab_size, f.integer("vocab_size", 32000));
    WHALE_TRY(c.hidden_size, f.integer("hidden_size", 4096));
    WHALE_TRY(c.intermediate_size, f.integer("intermediate_size", 11008));
    WHALE_TRY(c.num_hidden_layers, f.integer("num_hidden_layers", 32));
    WHALE_TRY(c.num_attention_heads, f.integer("num_attention_heads", 32));
    WHALE_TRY(c.num_key_value_heads, f.integer("num_key_value_heads", c.num_attention_heads));
    WHALE_TRY(c.max_position_embeddings, f.integer("max_position_embeddings", 2048));
    WHALE_TRY(c.attention_bias, f.boolean("attention_bias", false));
    WHALE_TRY(const bool mlp_bias, f.boolean("mlp_bias", false));
    if (mlp_bias) return Error("config.json: mlp_bias is not supported");
  } else {
    return Error("config.json: model_type '{}' / architecture '{}' is not supported "
                 "(deepseek_v3, deepseek_v2, qwen2, llama)", model_type, architecture);
  }
  if (c.arch != Arch::kDeepSeek2) {
    WHALE_TRY(c.head_dim, f.integer("head_dim", c.hidden_size / std::max<std::int64_t>(1, c.num_attention_heads)));
  }
  WHALE_TRY(c.rms_norm_eps, f.number("rms_norm_eps", 1e-6));
  WHALE_TRY(c.rope_theta, f.number("rope_theta", 10000.0));
  WHALE_TRY(c.rope_scaling, read_rope_scaling(j));
  WHALE_TRY(c.tie_word_embeddings, f.boolean("tie_word_embeddings", false));
  WHALE_TRY(std::vector<std::int64_t> bos, f.ids("bos_token_id"));
  if (!bos.empty()) c.bos_token_id = bos[0];
  WHALE_TRY(c.eos_token_ids, f.ids("eos_token_id"));
  WHALE_TRY(const std::string act, f.string("hidden_act", "silu"));
  if (act != "silu") return Error("config.json: hidden_act '{}' is not supported (silu)", act);
  auto ok = validate(c);
  if (!ok.ok()) return std::move(ok).error().context("config.json");
  return c;
}

Result<GenerationDefaults> generation_defaults_from_hf_json(std::string_view json_text) {
  const json j = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error("generation_config.json is not a JSON object");
  Fields f(j);
  GenerationDefaults g;
  if (j.contains("temperature") && !j["temperature"].is_null()) {
    WHALE_TRY(double t, f.number("temperature", 1.0));
    g.temperature = t;
  }
  if (j.contains("top_p") && !j["top_p"].is_null()) {
    WHALE_TRY(double p, f.number("top_p", 1.0));
    g.top_p = p;
  }
  if (j.contains("top_k") && !j["top_k"].is_null()) {
    WHALE_TRY(std::int64_t k, f.integer("top_k", 0));
    g.top_k = k;
  }
  WHALE_TRY(std::vector<std::int64_t> bos, f.ids("bos_token_id"));
  if (!bos.empty()) g.bos_token_id = bos[0];
  WHALE_TRY(g.eos_token_ids, f.ids("eos_token_id"));
  return g;
}

}  // namespace whale
