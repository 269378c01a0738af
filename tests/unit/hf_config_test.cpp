// hf_config_test.cpp — config.json / generation_config.json of the supported families into
// ModelConfig. The JSON texts are the published configs of the named models; expected values
// are read off those files (and the HF configuration classes' defaults when a field is absent).
#include <gtest/gtest.h>

#include <cmath>

#include "model/config.h"

namespace whale {
namespace {

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

const char* kDeepSeekV3 = R"({
  "architectures": ["DeepseekV3ForCausalLM"],
  "attention_bias": false, "attention_dropout": 0.0,
  "auto_map": {"AutoConfig": "configuration_deepseek.DeepseekV3Config",
               "AutoModel": "modeling_deepseek.DeepseekV3Model",
               "AutoModelForCausalLM": "modeling_deepseek.DeepseekV3ForCausalLM"},
  "aux_loss_alpha": 0.001, "bos_token_id": 0, "eos_token_id": 1, "ep_size": 1,
  "first_k_dense_replace": 3, "hidden_act": "silu", "hidden_size": 7168,
  "initializer_range": 0.02, "intermediate_size": 18432, "kv_lora_rank": 512,
  "max_position_embeddings": 163840, "model_type": "deepseek_v3",
  "moe_intermediate_size": 2048, "moe_layer_freq": 1, "n_group": 8, "n_routed_experts": 256,
  "n_shared_experts": 1, "norm_topk_prob": true, "num_attention_heads": 128,
  "num_experts_per_tok": 8, "num_hidden_layers": 61, "num_key_value_heads": 128,
  "num_nextn_predict_layers": 1, "pretraining_tp": 1, "q_lora_rank": 1536,
  "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
  "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3",
                          "quant_method": "fp8", "weight_block_size": [128, 128]},
  "rms_norm_eps": 1e-06,
  "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
                   "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                   "type": "yarn"},
  "rope_theta": 10000, "routed_scaling_factor": 2.5, "scoring_func": "sigmoid",
  "seq_aux": true, "tie_word_embeddings": false, "topk_group": 4, "topk_method": "noaux_tc",
  "torch_dtype": "bfloat16", "transformers_version": "4.33.1", "use_cache": true,
  "v_head_dim": 128, "vocab_size": 129280
})";

const char* kDeepSeekV2Lite = R"({
  "architectures": ["DeepseekV2ForCausalLM"],
  "attention_bias": false, "attention_dropout": 0.0, "aux_loss_alpha": 0.001,
  "bos_token_id": 100000, "eos_token_id": 100001, "first_k_dense_replace": 1,
  "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02,
  "intermediate_size": 10944, "kv_lora_rank": 512, "max_position_embeddings": 163840,
  "model_type": "deepseek_v2", "moe_intermediate_size": 1408, "moe_layer_freq": 1,
  "n_group": 1, "n_routed_experts": 64, "n_shared_experts": 2, "norm_topk_prob": false,
  "num_attention_heads": 16, "num_experts_per_tok": 6, "num_hidden_layers": 27,
  "num_key_value_heads": 16, "pretraining_tp": 1, "q_lora_rank": null,
  "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "rms_norm_eps": 1e-06,
  "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707,
                   "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096,
                   "type": "yarn"},
  "rope_theta": 10000, "routed_scaling_factor": 1.0, "scoring_func": "softmax",
  "seq_aux": true, "tie_word_embeddings": false, "topk_group": 1, "topk_method": "greedy",
  "torch_dtype": "bfloat16", "transformers_version": "4.33.1", "use_cache": true,
  "v_head_dim": 128, "vocab_size": 102400
})";

const char* kQwen2Distill15B = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 1536,
  "initializer_range": 0.02, "intermediate_size": 8960, "max_position_embeddings": 131072,
  "max_window_layers": 21, "model_type": "qwen2", "num_attention_heads": 12,
  "num_hidden_layers": 28, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
  "rope_theta": 10000, "sliding_window": 4096, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "transformers_version": "4.44.0", "use_cache": true,
  "use_mrope": false, "use_sliding_window": false, "vocab_size": 151936
})";

const char* kLlama31_8B = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0", "use_cache": true, "vocab_size": 128256
})";

TEST(HfConfig, DeepSeekV3) {
  auto r = config_from_hf_json(kDeepSeekV3);
  ASSERT_TRUE(r.ok()) << r.error().what();
  const ModelConfig& c = *r;
  EXPECT_EQ(c.arch, Arch::kDeepSeek2);
  EXPECT_EQ(c.name, "DeepseekV3ForCausalLM");
  EXPECT_EQ(c.vocab_size, 129280);
  EXPECT_EQ(c.hidden_size, 7168);
  EXPECT_EQ(c.intermediate_size, 18432);
  EXPECT_EQ(c.moe_intermediate_size, 2048);
  EXPECT_EQ(c.num_hidden_layers, 61);
  EXPECT_EQ(c.num_nextn_predict_layers, 1);
  EXPECT_EQ(c.num_attention_heads, 128);
  EXPECT_EQ(c.num_key_value_heads, 128);
  EXPECT_EQ(c.q_lora_rank, 1536);
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.qk_nope_head_dim, 128);
  EXPECT_EQ(c.qk_rope_head_dim, 64);
  EXPECT_EQ(c.v_head_dim, 128);
  EXPECT_EQ(c.qk_head_dim(), 192);
  EXPECT_EQ(c.n_routed_experts, 256);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_EQ(c.num_experts_per_tok, 8);
  EXPECT_EQ(c.n_group, 8);
  EXPECT_EQ(c.topk_group, 4);
  EXPECT_EQ(c.first_k_dense_replace, 3);
  EXPECT_EQ(c.moe_layer_freq, 1);
  EXPECT_EQ(c.scoring_func, ScoreFunc::kSigmoid);
  EXPECT_EQ(c.topk_method, TopkMethod::kNoauxTc);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_EQ(c.max_position_embeddings, 163840);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kYarn);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 40.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 4096);
  EXPECT_DOUBLE_EQ(c.rope_scaling.beta_fast, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.beta_slow, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale_all_dim, 1.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  ASSERT_TRUE(c.bos_token_id.has_value());
  EXPECT_EQ(*c.bos_token_id, 0);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int64_t>{1}));
  EXPECT_TRUE(c.is_moe());
  EXPECT_TRUE(c.uses_mla());
  EXPECT_FALSE(c.is_moe_layer(2));
  EXPECT_TRUE(c.is_moe_layer(3));
  EXPECT_TRUE(c.is_moe_layer(60));
  // softmax scale: mscale = 0.1 * 1.0 * ln(40) + 1; scale = mscale^2 / sqrt(192)
  const double m = 0.1 * std::log(40.0) + 1.0;
  EXPECT_NEAR(c.attention_scale(), m * m / std::sqrt(192.0), 1e-15);
}

TEST(HfConfig, DeepSeekV2Lite) {
  auto r = config_from_hf_json(kDeepSeekV2Lite);
  ASSERT_TRUE(r.ok()) << r.error().what();
  const ModelConfig& c = *r;
  EXPECT_EQ(c.arch, Arch::kDeepSeek2);
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.num_hidden_layers, 27);
  EXPECT_EQ(c.num_nextn_predict_layers, 0);
  EXPECT_EQ(c.num_attention_heads, 16);
  // "q_lora_rank": null means no low-rank query path, not the class default of 1536.
  EXPECT_EQ(c.q_lora_rank, 0);
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.intermediate_size, 10944);
  EXPECT_EQ(c.moe_intermediate_size, 1408);
  EXPECT_EQ(c.n_routed_experts, 64);
  EXPECT_EQ(c.num_experts_per_tok, 6);
  EXPECT_EQ(c.n_shared_experts, 2);
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.topk_group, 1);
  EXPECT_EQ(c.first_k_dense_replace, 1);
  EXPECT_EQ(c.scoring_func, ScoreFunc::kSoftmax);
  EXPECT_EQ(c.topk_method, TopkMethod::kGreedy);
  EXPECT_FALSE(c.norm_topk_prob);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 1.0);
  EXPECT_EQ(c.vocab_size, 102400);
  EXPECT_DOUBLE_EQ(c.rope_scaling.mscale_all_dim, 0.707);
  EXPECT_EQ(*c.bos_token_id, 100000);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int64_t>{100001}));
  EXPECT_FALSE(c.is_moe_layer(0));
  EXPECT_TRUE(c.is_moe_layer(1));
}

TEST(HfConfig, Qwen2DistillR1_1_5B) {
  auto r = config_from_hf_json(kQwen2Distill15B);
  ASSERT_TRUE(r.ok()) << r.error().what();
  const ModelConfig& c = *r;
  EXPECT_EQ(c.arch, Arch::kQwen2);
  EXPECT_EQ(c.hidden_size, 1536);
  EXPECT_EQ(c.num_hidden_layers, 28);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 128);  // 1536 / 12
  EXPECT_EQ(c.intermediate_size, 8960);
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.is_moe());
  EXPECT_FALSE(c.uses_mla());
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kNone);
  EXPECT_EQ(*c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int64_t>{151643}));
  EXPECT_DOUBLE_EQ(c.attention_scale(), 1.0 / std::sqrt(128.0));
}

TEST(HfConfig, Llama31WithLlama3RopeScaling) {
  auto r = config_from_hf_json(kLlama31_8B);
  ASSERT_TRUE(r.ok()) << r.error().what();
  const ModelConfig& c = *r;
  EXPECT_EQ(c.arch, Arch::kLlama);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.num_hidden_layers, 32);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(*c.bos_token_id, 128000);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int64_t>{128001, 128008, 128009}));
}

// Fields left out take the defaults of the HF configuration classes.
TEST(HfConfig, DefaultsWhenAbsent) {
  auto v3 = config_from_hf_json(R"({"model_type": "deepseek_v3"})");
  ASSERT_TRUE(v3.ok()) << v3.error().what();
  EXPECT_EQ(v3->vocab_size, 129280);
  EXPECT_EQ(v3->hidden_size, 7168);
  EXPECT_EQ(v3->num_hidden_layers, 61);
  EXPECT_EQ(v3->n_routed_experts, 256);
  EXPECT_EQ(v3->n_group, 8);
  EXPECT_EQ(v3->topk_group, 4);
  EXPECT_EQ(v3->num_experts_per_tok, 8);
  EXPECT_EQ(v3->q_lora_rank, 1536);  // absent (not null): the class default
  EXPECT_EQ(v3->topk_method, TopkMethod::kNoauxTc);
  EXPECT_EQ(v3->scoring_func, ScoreFunc::kSigmoid);
  EXPECT_EQ(v3->max_position_embeddings, 4096);
  EXPECT_EQ(v3->num_key_value_heads, 128);
  EXPECT_EQ(v3->rope_scaling.type, RopeScalingType::kNone);

  // DeepseekV2Config: dense unless experts are given, greedy ("gready") top-k.
  auto v2 = config_from_hf_json(R"({"architectures": ["DeepseekV2ForCausalLM"]})");
  ASSERT_TRUE(v2.ok()) << v2.error().what();
  EXPECT_EQ(v2->vocab_size, 102400);
  EXPECT_EQ(v2->hidden_size, 4096);
  EXPECT_EQ(v2->intermediate_size, 11008);
  EXPECT_EQ(v2->num_hidden_layers, 30);
  EXPECT_EQ(v2->num_attention_heads, 32);
  EXPECT_EQ(v2->num_key_value_heads, 32);
  EXPECT_EQ(v2->n_routed_experts, 0);
  EXPECT_FALSE(v2->is_moe());
  EXPECT_EQ(v2->max_position_embeddings, 2048);
  EXPECT_EQ(v2->topk_method, TopkMethod::kGreedy);

  auto qwen = config_from_hf_json(R"({"model_type": "qwen2"})");
  ASSERT_TRUE(qwen.ok()) << qwen.error().what();
  EXPECT_EQ(qwen->vocab_size, 151936);
  EXPECT_EQ(qwen->hidden_size, 4096);
  EXPECT_EQ(qwen->intermediate_size, 22016);
  EXPECT_EQ(qwen->num_hidden_layers, 32);
  EXPECT_EQ(qwen->num_key_value_heads, 32);
  EXPECT_EQ(qwen->max_position_embeddings, 32768);
  EXPECT_EQ(qwen->head_dim, 128);
  EXPECT_DOUBLE_EQ(qwen->rope_theta, 10000.0);
  EXPECT_DOUBLE_EQ(qwen->rms_norm_eps, 1e-6);
  EXPECT_FALSE(qwen->tie_word_embeddings);
  EXPECT_FALSE(qwen->bos_token_id.has_value());

  auto llama = config_from_hf_json(R"({"model_type": "llama", "num_attention_heads": 16})");
  ASSERT_TRUE(llama.ok()) << llama.error().what();
  EXPECT_EQ(llama->vocab_size, 32000);
  EXPECT_EQ(llama->num_key_value_heads, 16);  // defaults to the attention heads
  EXPECT_EQ(llama->head_dim, 256);
  EXPECT_EQ(llama->max_position_embeddings, 2048);
}

TEST(HfConfig, WrongTypesNameTheField) {
  struct Case { const char* json; const char* field; };
  const Case cases[] = {
      {R"({"model_type": "qwen2", "hidden_size": "big"})", "\"hidden_size\" must be an integer"},
      {R"({"model_type": "qwen2", "hidden_size": 1.5})", "\"hidden_size\" must be an integer"},
      {R"({"model_type": "qwen2", "rope_theta": "x"})", "\"rope_theta\" must be a number"},
      {R"({"model_type": "qwen2", "tie_word_embeddings": 1})", "\"tie_word_embeddings\" must be true or false"},
      {R"({"model_type": "llama", "eos_token_id": "x"})", "\"eos_token_id\" must be an id or a list"},
      {R"({"model_type": "llama", "eos_token_id": [1, "x"]})", "\"eos_token_id\" holds a non-integer"},
      {R"({"model_type": "llama", "rope_scaling": 4})", "\"rope_scaling\" must be an object"},
      {R"({"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": "x"}})", "\"factor\" must be a number"},
      {R"({"model_type": "deepseek_v3", "n_group": []})", "\"n_group\" must be an integer"},
      {R"({"model_type": "deepseek_v3", "topk_method": "magic"})", "topk_method 'magic'"},
      {R"({"model_type": "deepseek_v3", "scoring_func": "relu"})", "scoring_func 'relu'"},
      {R"({"model_type": 5})", "\"model_type\" must be a string"},
      {R"({"model_type": "gpt2"})", "model_type 'gpt2'"},
      {R"({"model_type": "llama", "hidden_act": "gelu"})", "hidden_act 'gelu'"},
      {R"({"model_type": "qwen2", "use_sliding_window": true})", "use_sliding_window"},
      {R"({"model_type": "llama", "rope_scaling": {"rope_type": "dynamic"}})", "rope_scaling type 'dynamic'"},
      {"[1, 2]", "config.json is not a JSON object"},
      {"{oops", "config.json is not a JSON object"},
  };
  for (const auto& c : cases) {
    auto r = config_from_hf_json(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_TRUE(contains(r.error().what(), c.field)) << c.json << " -> " << r.error().what();
  }
}

TEST(HfConfig, InvalidValuesAreRejectedByValidation) {
  struct Case { const char* json; const char* expect; };
  const Case cases[] = {
      {R"({"model_type": "qwen2", "hidden_size": 0})", "hidden_size = 0"},
      {R"({"model_type": "qwen2", "hidden_size": 1536, "num_attention_heads": 12, "num_key_value_heads": 5})", "not a multiple of num_key_value_heads"},
      {R"({"model_type": "deepseek_v3", "n_group": 7})", "not divisible by n_group"},
      {R"({"model_type": "deepseek_v3", "topk_group": 9})", "topk_group = 9"},
      {R"({"model_type": "deepseek_v3", "num_experts_per_tok": 300})", "num_experts_per_tok = 300 exceeds"},
      {R"({"model_type": "deepseek_v3", "qk_rope_head_dim": 63})", "must be even"},
      {R"({"model_type": "llama", "rope_scaling": {"rope_type": "llama3", "factor": 8}})", "original_max_position_embeddings"},
      {R"({"model_type": "llama", "rms_norm_eps": -1})", "rms_norm_eps"},
  };
  for (const auto& c : cases) {
    auto r = config_from_hf_json(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_TRUE(contains(r.error().what(), c.expect)) << c.json << " -> " << r.error().what();
    EXPECT_TRUE(contains(r.error().what(), "config.json")) << r.error().what();
  }
}

TEST(HfConfig, GenerationConfig) {
  auto g = generation_defaults_from_hf_json(
      R"({"_from_model_config": true, "bos_token_id": 0, "eos_token_id": 1,
          "do_sample": true, "temperature": 0.6, "top_p": 0.95, "transformers_version": "4.46.3"})");
  ASSERT_TRUE(g.ok()) << g.error().what();
  EXPECT_DOUBLE_EQ(*g->temperature, 0.6);
  EXPECT_DOUBLE_EQ(*g->top_p, 0.95);
  EXPECT_FALSE(g->top_k.has_value());
  EXPECT_EQ(*g->bos_token_id, 0);
  EXPECT_EQ(g->eos_token_ids, (std::vector<std::int64_t>{1}));
  auto multi = generation_defaults_from_hf_json(R"({"eos_token_id": [128001, 128009], "top_k": 40, "temperature": null})");
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(multi->eos_token_ids, (std::vector<std::int64_t>{128001, 128009}));
  EXPECT_EQ(*multi->top_k, 40);
  EXPECT_FALSE(multi->temperature.has_value());
  auto bad = generation_defaults_from_hf_json(R"({"temperature": "hot"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.error().what(), "\"temperature\" must be a number"));
  EXPECT_FALSE(generation_defaults_from_hf_json("nope").ok());
}

}  // namespace
}  // namespace whale
