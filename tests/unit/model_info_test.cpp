// model_info_test.cpp — parameter counts, dtype histogram and KV-cache sizes of `whale info`,
// on tiny models whose numbers are worked out by hand in test_models.cpp; and config_from_gguf.
#include "model/model_info.h"

#include <gtest/gtest.h>

#include <limits>

#include "format/model_files.h"
#include "unit/test_files.h"
#include "unit/test_models.h"

namespace whale {
namespace {

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

TEST(ModelInfo, TinyDeepSeek2Gguf) {
  const auto path = test::scratch_dir() / "tiny-ds.gguf";
  test::write_tiny_deepseek2_gguf(path);
  auto files = open_model_files(path);
  ASSERT_TRUE(files.ok()) << files.error().what();
  auto config = read_model_config(*files);
  ASSERT_TRUE(config.ok()) << config.error().what();
  const ModelConfig& c = *config;
  EXPECT_EQ(c.arch, Arch::kDeepSeek2);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_hidden_layers, 3);
  EXPECT_EQ(c.q_lora_rank, 0);
  EXPECT_EQ(c.kv_lora_rank, 32);
  EXPECT_EQ(c.qk_nope_head_dim, 32);  // key_length 48 - rope 16
  EXPECT_EQ(c.qk_rope_head_dim, 16);
  EXPECT_EQ(c.v_head_dim, 32);
  EXPECT_EQ(c.n_routed_experts, 4);
  EXPECT_EQ(c.num_experts_per_tok, 2);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_EQ(c.first_k_dense_replace, 1);
  EXPECT_EQ(c.moe_intermediate_size, 16);
  EXPECT_EQ(c.vocab_size, 100);
  EXPECT_EQ(c.scoring_func, ScoreFunc::kSoftmax);
  EXPECT_EQ(c.topk_method, TopkMethod::kGreedy);

  auto s = summarize_model(*files, c);
  ASSERT_TRUE(s.ok()) << s.error().what();
  EXPECT_EQ(s->n_tensors, static_cast<std::size_t>(test::kTinyDsTensors));
  EXPECT_EQ(s->total_params, test::kTinyDsTotalParams);
  EXPECT_EQ(s->active_params, test::kTinyDsActiveParams);
  EXPECT_EQ(s->mtp_params, 0);
  EXPECT_EQ(s->file_bytes, std::filesystem::file_size(path));
  EXPECT_EQ(s->n_files, 1u);
  // Histogram (see test_models.cpp): Q8_0 token_embd; F16 output + 6 expert tensors; rest F32.
  ASSERT_EQ(s->dtypes.size(), 3u);
  EXPECT_EQ(s->dtypes.at("Q8_0").tensors, 1);
  EXPECT_EQ(s->dtypes.at("Q8_0").params, 6400);
  EXPECT_EQ(s->dtypes.at("Q8_0").bytes, 6400u / 32 * 34);
  EXPECT_EQ(s->dtypes.at("F16").tensors, 7);
  EXPECT_EQ(s->dtypes.at("F16").params, 6400 + 6 * 4096);
  EXPECT_EQ(s->dtypes.at("F16").bytes, 2u * (6400 + 6 * 4096));
  EXPECT_EQ(s->dtypes.at("F32").tensors, 33);
  EXPECT_EQ(s->dtypes.at("F32").params, 115232 - 6400 - 30976);
  EXPECT_EQ(s->dtypes.at("F32").bytes, 4u * (115232 - 6400 - 30976));
  // MLA caches one latent (kv_lora) plus the roped key per token per layer.
  EXPECT_EQ(s->kv_values_per_token_per_layer(), 32 + 16);
  EXPECT_EQ(s->kv_cache_bytes(1000, 2), 3u * (32 + 16) * 1000 * 2);
  EXPECT_EQ(s->kv_cache_bytes(7, 4), 3u * 48 * 7 * 4);
  EXPECT_TRUE(contains(s->attention, "MLA"));
  EXPECT_TRUE(contains(s->attention, "q_lora none"));
  EXPECT_TRUE(contains(s->experts, "4 routed"));
  EXPECT_TRUE(contains(s->experts, "2 used"));
}

TEST(ModelInfo, TinyQwen2Folder) {
  const auto dir = test::scratch_dir() / "qwen";
  test::write_tiny_qwen2_folder(dir);
  auto files = open_model_files(dir);
  ASSERT_TRUE(files.ok()) << files.error().what();
  EXPECT_EQ(files->format, ModelFormat::kSafetensors);
  ASSERT_TRUE(files->hf_generation_config_json.has_value());
  auto config = read_model_config(*files);
  ASSERT_TRUE(config.ok()) << config.error().what();
  auto s = summarize_model(*files, *config);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->total_params, test::kTinyQwenTotalParams);
  EXPECT_EQ(s->active_params, test::kTinyQwenTotalParams);
  EXPECT_EQ(s->n_tensors, static_cast<std::size_t>(test::kTinyQwenTensors));
  EXPECT_EQ(s->dtypes.at("F32").tensors, 5);
  EXPECT_EQ(s->dtypes.at("F32").params, 5 * 32);
  EXPECT_EQ(s->dtypes.at("BF16").params, test::kTinyQwenTotalParams - 160);
  // GQA caches K and V of each KV head: 2 x 2 heads x head dim 8 per token per layer.
  EXPECT_EQ(s->kv_values_per_token_per_layer(), 32);
  EXPECT_EQ(s->kv_cache_bytes(100, 2), 2u * 32 * 100 * 2);
  // Opening config.json itself opens the folder.
  auto via_config = open_model_files(dir / "config.json");
  ASSERT_TRUE(via_config.ok()) << via_config.error().what();
  EXPECT_EQ(via_config->tensors.size(), static_cast<std::size_t>(test::kTinyQwenTensors));
}

TEST(ModelInfo, MtpTensorsCountedSeparately) {
  // DeepSeek-V3 style: 61 main layers, the MTP module is layer 61.
  ModelFiles files;
  files.format = ModelFormat::kSafetensors;
  std::vector<std::byte> buf(64);
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    ASSERT_TRUE(files.tensors.add(TensorRecord{name, DType::kF8_E4M3, std::move(shape), buf, 0}).ok());
  };
  add("model.layers.0.self_attn.kv_a_proj_with_mqa.weight", {4, 8});
  add("model.layers.60.mlp.gate.weight", {2, 8});
  add("model.layers.61.eh_proj.weight", {8, 16});
  add("model.layers.610.x.weight", {1, 1});  // not an MTP layer despite the prefix digits
  auto c = config_from_hf_json(R"({"model_type": "deepseek_v3", "n_routed_experts": 8,
      "num_experts_per_tok": 8, "n_group": 1, "topk_group": 1, "topk_method": "greedy"})");
  ASSERT_TRUE(c.ok()) << c.error().what();
  auto s = summarize_model(files, *c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->total_params, 32 + 16 + 128 + 1);
  EXPECT_EQ(s->mtp_params, 128);
  EXPECT_EQ(s->active_params, 32 + 16 + 1);  // all 8 experts used: nothing else inactive
}

Metadata base_ds() { return test::tiny_deepseek2_metadata(); }

TEST(GgufConfig, LayoutsGroupsAndErrors) {
  // Layout with *_mla keys (newer llama.cpp): MLA widths there, plain keys hold absorbed ones.
  Metadata m = base_ds();
  m.set("deepseek2.attention.key_length", meta_u32(48 + 32));
  m.set("deepseek2.attention.key_length_mla", meta_u32(48));
  m.set("deepseek2.attention.value_length_mla", meta_u32(32));
  m.set("deepseek2.attention.head_count_kv", meta_u32(1));
  auto c = config_from_gguf(m);
  ASSERT_TRUE(c.ok()) << c.error().what();
  EXPECT_EQ(c->qk_nope_head_dim, 32);
  EXPECT_EQ(c->v_head_dim, 32);
  EXPECT_EQ(c->num_key_value_heads, 2);

  // A V3-like routing signature without group keys gets the published 8/4 grouping + notice.
  Metadata v3 = base_ds();
  v3.set("deepseek2.expert_count", meta_u32(256));
  v3.set("deepseek2.expert_used_count", meta_u32(8));
  v3.set("deepseek2.expert_gating_func", meta_u32(2));
  auto cv3 = config_from_gguf(v3);
  ASSERT_TRUE(cv3.ok()) << cv3.error().what();
  EXPECT_EQ(cv3->n_group, 8);
  EXPECT_EQ(cv3->topk_group, 4);
  EXPECT_EQ(cv3->topk_method, TopkMethod::kNoauxTc);
  EXPECT_TRUE(cv3->norm_topk_prob);
  ASSERT_EQ(cv3->notices.size(), 1u);
  auto over = config_from_gguf(v3, std::make_pair(4, 2));
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->n_group, 4);
  EXPECT_EQ(over->topk_group, 2);

  // MTP layers are counted in block_count by llama.cpp.
  Metadata mtp = base_ds();
  mtp.set("deepseek2.block_count", meta_u32(4));
  mtp.set("deepseek2.nextn_predict_layers", meta_u32(1));
  auto cm = config_from_gguf(mtp);
  ASSERT_TRUE(cm.ok());
  EXPECT_EQ(cm->num_hidden_layers, 3);
  EXPECT_EQ(cm->num_nextn_predict_layers, 1);

  struct Bad { const char* key; MetaValue v; const char* expect; };
  const Bad bad[] = {
      {"general.architecture", meta_str("gpt2"), "general.architecture 'gpt2' is not supported"},
      {"general.architecture", meta_u32(1), "metadata key 'general.architecture'"},
      {"deepseek2.embedding_length", meta_str("x"), "metadata key 'deepseek2.embedding_length'"},
      {"deepseek2.expert_gating_func", meta_u32(3), "is not 1 (softmax) or 2 (sigmoid)"},
      {"deepseek2.attention.kv_lora_rank", meta_u32(0), "kv_lora_rank = 0"},
      {"deepseek2.expert_used_count", meta_u32(5), "num_experts_per_tok = 5 exceeds"},
      {"deepseek2.rope.scaling.type", meta_str("dynamic"), "'dynamic' is not supported"},
      {"deepseek2.attention.head_count", meta_i32_array({2, 3}), "per-layer values differ"},
  };
  for (const auto& b : bad) {
    Metadata x = base_ds();
    x.set(b.key, b.v);
    auto r = config_from_gguf(x);
    ASSERT_FALSE(r.ok()) << b.key;
    EXPECT_TRUE(contains(r.error().what(), b.expect)) << b.key << ": " << r.error().what();
  }
  Metadata missing = base_ds();
  missing.erase("deepseek2.attention.kv_lora_rank");
  auto rm = config_from_gguf(missing);
  ASSERT_FALSE(rm.ok());
  EXPECT_TRUE(contains(rm.error().what(), "'deepseek2.attention.kv_lora_rank' is missing"));
}

// Hostile but well-typed values must give errors, never overflow or loop for ages.
TEST(GgufConfig, ExtremeValuesAreErrorsNotOverflows) {
  const std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  const std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  struct Case { const char* key; std::int64_t v; };
  const Case cases[] = {
      {"deepseek2.attention.key_length", kMin},
      {"deepseek2.attention.key_length", kMax},
      {"deepseek2.rope.dimension_count", kMin},
      {"deepseek2.rope.dimension_count", kMax},
      {"deepseek2.nextn_predict_layers", kMin},
      {"deepseek2.nextn_predict_layers", kMax},
      {"deepseek2.nextn_predict_layers", std::int64_t{1} << 31},
      {"deepseek2.block_count", kMin},
      {"deepseek2.block_count", std::int64_t{1} << 32},
      {"deepseek2.expert_count", kMax},
      {"deepseek2.embedding_length", std::int64_t{1} << 32},
  };
  for (const auto& c : cases) {
    Metadata m = base_ds();
    m.set(c.key, MetaValue{c.v});
    auto r = config_from_gguf(m);
    EXPECT_FALSE(r.ok()) << c.key << " = " << c.v;
  }
  // Large but individually plausible sizes must not overflow the info arithmetic either.
  Metadata big = base_ds();
  big.set("deepseek2.block_count", meta_u32(100000));
  big.set("deepseek2.nextn_predict_layers", meta_u32(99999));
  big.set("deepseek2.embedding_length", meta_u32(1u << 24));
  big.set("deepseek2.expert_feed_forward_length", meta_u32(1u << 24));
  big.set("deepseek2.expert_count", meta_u32(1u << 20));
  big.set("deepseek2.expert_used_count", meta_u32(1));
  auto rb = config_from_gguf(big);
  if (rb.ok()) {
    ModelFiles files;
    auto s = summarize_model(files, *rb);
    if (s.ok()) (void)s->kv_cache_bytes(1 << 20, 4);
  }
}

}  // namespace
}  // namespace whale
