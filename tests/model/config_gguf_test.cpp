// config_gguf_test.cpp — DeepSeek GGUF metadata conventions: the three MLA key layouts, gating
// codes, and the published-routing fallback for files without the expert group keys.
#include <gtest/gtest.h>

#include "model/config.h"

namespace whale {
namespace {

Metadata deepseek_v3_like(bool with_groups, bool layout_c) {
  Metadata m;
  m.set("general.architecture", meta_str("deepseek2"));
  m.set("deepseek2.embedding_length", meta_u32(7168));
  m.set("deepseek2.block_count", meta_u32(61));
  m.set("deepseek2.feed_forward_length", meta_u32(18432));
  m.set("deepseek2.attention.head_count", meta_u32(128));
  m.set("deepseek2.vocab_size", meta_u32(129280));
  m.set("deepseek2.attention.q_lora_rank", meta_u32(1536));
  m.set("deepseek2.attention.kv_lora_rank", meta_u32(512));
  m.set("deepseek2.rope.dimension_count", meta_u32(64));
  if (layout_c) {
    m.set("deepseek2.attention.head_count_kv", meta_u32(1));
    m.set("deepseek2.attention.key_length", meta_u32(576));
    m.set("deepseek2.attention.value_length", meta_u32(512));
    m.set("deepseek2.attention.key_length_mla", meta_u32(192));
    m.set("deepseek2.attention.value_length_mla", meta_u32(128));
  } else {
    m.set("deepseek2.attention.head_count_kv", meta_u32(128));
    m.set("deepseek2.attention.key_length", meta_u32(192));
    m.set("deepseek2.attention.value_length", meta_u32(128));
  }
  m.set("deepseek2.expert_count", meta_u32(256));
  m.set("deepseek2.expert_used_count", meta_u32(8));
  m.set("deepseek2.expert_shared_count", meta_u32(1));
  m.set("deepseek2.expert_feed_forward_length", meta_u32(2048));
  m.set("deepseek2.leading_dense_block_count", meta_u32(3));
  m.set("deepseek2.expert_weights_scale", meta_f32(2.5f));
  m.set("deepseek2.expert_weights_norm", meta_bool(true));
  m.set("deepseek2.expert_gating_func", meta_u32(2));
  if (with_groups) {
    m.set("deepseek2.expert_group_count", meta_u32(8));
    m.set("deepseek2.expert_group_used_count", meta_u32(4));
  }
  return m;
}

TEST(ConfigGguf, LayoutsGiveTheSameMlaWidths) {
  for (bool layout_c : {false, true}) {
    auto c = config_from_gguf(deepseek_v3_like(true, layout_c));
    ASSERT_TRUE(c.ok()) << c.error().what();
    EXPECT_EQ(c->qk_nope_head_dim, 128);
    EXPECT_EQ(c->qk_rope_head_dim, 64);
    EXPECT_EQ(c->v_head_dim, 128);
    EXPECT_EQ(c->kv_lora_rank, 512);
    EXPECT_EQ(c->topk_method, TopkMethod::kNoauxTc);
    EXPECT_EQ(c->scoring_func, ScoreFunc::kSigmoid);
    EXPECT_EQ(c->n_group, 8);
    EXPECT_EQ(c->topk_group, 4);
    EXPECT_TRUE(c->notices.empty());
  }
}

TEST(ConfigGguf, OldR1FileGetsPublishedGroupsWithNotice) {
  auto c = config_from_gguf(deepseek_v3_like(false, false));
  ASSERT_TRUE(c.ok()) << c.error().what();
  EXPECT_EQ(c->n_group, 8);
  EXPECT_EQ(c->topk_group, 4);
  ASSERT_EQ(c->notices.size(), 1u);
  EXPECT_NE(c->notices[0].find("--moe-groups"), std::string::npos);
}

TEST(ConfigGguf, MoeGroupsOverride) {
  auto c = config_from_gguf(deepseek_v3_like(false, false), std::pair{4, 2});
  ASSERT_TRUE(c.ok()) << c.error().what();
  EXPECT_EQ(c->n_group, 4);
  EXPECT_EQ(c->topk_group, 2);
}

TEST(ConfigGguf, AbsentGatingMeansSoftmax) {
  Metadata m = deepseek_v3_like(false, false);
  m.erase("deepseek2.expert_gating_func");
  m.erase("deepseek2.expert_weights_norm");
  m.set("deepseek2.expert_count", meta_u32(64));
  m.set("deepseek2.expert_used_count", meta_u32(6));
  auto c = config_from_gguf(m);
  ASSERT_TRUE(c.ok()) << c.error().what();
  EXPECT_EQ(c->scoring_func, ScoreFunc::kSoftmax);
  EXPECT_EQ(c->topk_method, TopkMethod::kGreedy);
  EXPECT_FALSE(c->norm_topk_prob);
}

TEST(ConfigGguf, BadGatingCodeIsAnError) {
  Metadata m = deepseek_v3_like(true, false);
  m.set("deepseek2.expert_gating_func", meta_u32(7));
  auto c = config_from_gguf(m);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().what().find("expert_gating_func"), std::string::npos);
}

}  // namespace
}  // namespace whale
