// quant_recipe_test.cpp — the mixture rules pick the documented type per tensor
// (docs/quantization.md); expectations are worked out by hand from that table.
#include "convert/quant_recipe.h"

#include <gtest/gtest.h>

namespace whale {
namespace {

DType pick(const char* target, const char* name, std::vector<std::int64_t> shape,
           std::int64_t n_layers = 32, std::int64_t n_gqa = 1, bool pure = false) {
  auto t = parse_quant_target(target);
  EXPECT_TRUE(t.ok()) << target;
  return choose_tensor_type(*t, {name, shape, n_layers, n_gqa}, pure).dtype;
}

const std::vector<std::int64_t> kMat = {4096, 4096};

TEST(QuantRecipe, NamesAndFileTypes) {
  auto t = parse_quant_target("q4_k_m");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->name, "Q4_K_M");
  EXPECT_EQ(t->base, DType::kQ4_K);
  EXPECT_EQ(t->file_type, 15u);                                      // LLAMA_FTYPE_MOSTLY_Q4_K_M
  EXPECT_EQ(parse_quant_target("Q4_K")->mixture, Mixture::kQ4_K_M);  // llama-quantize's alias
  EXPECT_EQ(parse_quant_target("Q3_K")->file_type, 12u);
  EXPECT_EQ(parse_quant_target("f16")->file_type, 1u);
  EXPECT_EQ(parse_quant_target("BF16")->file_type, 32u);
  EXPECT_EQ(parse_quant_target("Q8_0")->file_type, 7u);
  EXPECT_EQ(parse_quant_target("Q5_0")->file_type, 8u);
  EXPECT_EQ(parse_quant_target("IQ4_XS")->file_type, 30u);
  EXPECT_EQ(parse_quant_target("iq2_xxs")->file_type, 19u);
  EXPECT_EQ(parse_quant_target("IQ1_S")->file_type, 24u);
  EXPECT_EQ(parse_quant_target("IQ1_M")->file_type, 31u);
  for (const char* bad : {"IQ2_XS", "iq3_s", "IQ3_XXS"}) {
    auto r = parse_quant_target(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(std::string(r.error().what()).find("not supported"), std::string::npos)
        << r.error().what();
  }
  auto r = parse_quant_target("Q7_X");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.error().what()).find("unknown type 'Q7_X'"), std::string::npos);
}

TEST(QuantRecipe, TensorsThatStayF32) {
  for (const char* target : {"Q4_K_M", "Q8_0", "F16", "Q2_K"}) {
    EXPECT_EQ(pick(target, "blk.3.attn_norm.weight", {4096}), DType::kF32) << target;
    EXPECT_EQ(pick(target, "blk.3.attn_q.bias", {4096}), DType::kF32) << target;
    EXPECT_EQ(pick(target, "blk.3.ffn_gate_inp.weight", {256, 7168}), DType::kF32) << target;
    EXPECT_EQ(pick(target, "blk.3.exp_probs_b.bias", {256}), DType::kF32) << target;
    EXPECT_EQ(pick(target, "rope_freqs.weight", {64}), DType::kF32) << target;
    EXPECT_EQ(pick(target, "blk.3.ffn_gate_inp.weight", {256, 7168}, 32, 1, true), DType::kF32);
  }
}

TEST(QuantRecipe, Q4_K_M) {
  // use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2 -> 0-3, 6, 9, ..., 27, 28-31.
  EXPECT_EQ(pick("Q4_K_M", "output.weight", {129280, 7168}), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_K_M", "token_embd.weight", {129280, 7168}), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.0.attn_v.weight", kMat), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.4.attn_v.weight", kMat), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.5.attn_v.weight", kMat), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.6.attn_v.weight", kMat), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.27.attn_v.weight", kMat), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.28.attn_v.weight", kMat), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.26.ffn_down.weight", kMat), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.9.ffn_down.weight", kMat), DType::kQ6_K);
  // MoE: routed (3-D) and shared experts follow ffn_down's rule by layer index.
  EXPECT_EQ(pick("Q4_K_M", "blk.9.ffn_down_exps.weight", {256, 7168, 2048}), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.10.ffn_down_exps.weight", {256, 7168, 2048}), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.10.ffn_down_shexp.weight", {7168, 2048}), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.12.ffn_down_shexp.weight", {7168, 2048}), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.12.ffn_up_exps.weight", {256, 2048, 7168}), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.12.ffn_gate_shexp.weight", {2048, 7168}), DType::kQ4_K);
  // MLA: kv_b and its k_b / v_b halves take attn_v's rule; the rest the base type.
  EXPECT_EQ(pick("Q4_K_M", "blk.6.attn_kv_b.weight", {32768, 512}), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.7.attn_kv_b.weight", {32768, 512}), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.6.attn_v_b.weight", {128, 128, 512}), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.7.attn_kv_a_mqa.weight", {576, 7168}), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.7.attn_q_a.weight", {1536, 7168}), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.7.attn_q_b.weight", {24576, 1536}), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.7.attn_output.weight", {7168, 16384}), DType::kQ4_K);
  // k_b rows are qk_nope_head_dim = 128 wide: Q6_K (256) does not fit -> Q8_0; Q4_K -> Q5_0.
  EXPECT_EQ(pick("Q4_K_M", "blk.6.attn_k_b.weight", {128, 512, 128}), DType::kQ8_0);
  EXPECT_EQ(pick("Q4_K_M", "blk.7.attn_k_b.weight", {128, 512, 128}), DType::kQ5_0);
}

TEST(QuantRecipe, OtherMixtures) {
  // Q3_K_M, 32 layers: attn_v Q5_K for layers 0-1 then Q4_K; ffn_down Q5_K below 32/16 = 2
  // then Q4_K; attn_output Q4_K.
  EXPECT_EQ(pick("Q3_K_M", "blk.1.attn_v.weight", kMat), DType::kQ5_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.2.attn_v.weight", kMat), DType::kQ4_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.1.ffn_down.weight", kMat), DType::kQ5_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.2.ffn_down.weight", kMat), DType::kQ4_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.2.attn_output.weight", kMat), DType::kQ4_K);
  EXPECT_EQ(pick("Q3_K_M", "blk.2.ffn_up.weight", kMat), DType::kQ3_K);
  EXPECT_EQ(pick("Q3_K_M", "output.weight", kMat), DType::kQ6_K);
  // Q3_K_L: Q5_K for attn_v, ffn_down, attn_output.
  EXPECT_EQ(pick("Q3_K_L", "blk.20.attn_v.weight", kMat), DType::kQ5_K);
  EXPECT_EQ(pick("Q3_K_L", "blk.20.ffn_down.weight", kMat), DType::kQ5_K);
  EXPECT_EQ(pick("Q3_K_L", "blk.20.attn_output.weight", kMat), DType::kQ5_K);
  // Q3_K_S: only the output bump.
  EXPECT_EQ(pick("Q3_K_S", "blk.0.attn_v.weight", kMat), DType::kQ3_K);
  EXPECT_EQ(pick("Q3_K_S", "output.weight", kMat), DType::kQ6_K);
  // Q2_K: attn_v Q3_K, or Q4_K when 4+ query heads share a KV head; ffn_down Q3_K.
  EXPECT_EQ(pick("Q2_K", "blk.5.attn_v.weight", kMat, 32, 1), DType::kQ3_K);
  EXPECT_EQ(pick("Q2_K", "blk.5.attn_v.weight", kMat, 32, 4), DType::kQ4_K);
  EXPECT_EQ(pick("Q2_K", "blk.5.ffn_down_exps.weight", {64, 2048, 1408}),
            DType::kIQ4_NL);  // 1408 % 256 != 0
  EXPECT_EQ(pick("Q2_K", "blk.5.ffn_down_exps.weight", {64, 2048, 1536}), DType::kQ3_K);
  EXPECT_EQ(pick("Q2_K", "blk.5.ffn_up.weight", kMat), DType::kQ2_K);
  // Q4_K_S: attn_v Q5_K for layers 0-3, ffn_down Q5_K below 32/8 = 4.
  EXPECT_EQ(pick("Q4_K_S", "blk.3.attn_v.weight", kMat), DType::kQ5_K);
  EXPECT_EQ(pick("Q4_K_S", "blk.4.attn_v.weight", kMat), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_S", "blk.3.ffn_down.weight", kMat), DType::kQ5_K);
  EXPECT_EQ(pick("Q4_K_S", "blk.4.ffn_down.weight", kMat), DType::kQ4_K);
  // Q5_K_M: like Q4_K_M over a Q5_K base.
  EXPECT_EQ(pick("Q5_K_M", "blk.6.ffn_down.weight", kMat), DType::kQ6_K);
  EXPECT_EQ(pick("Q5_K_M", "blk.7.ffn_down.weight", kMat), DType::kQ5_K);
  EXPECT_EQ(pick("Q5_K_S", "blk.6.ffn_down.weight", kMat), DType::kQ5_K);
  // Q8_0 keeps output Q8_0; the legacy and IQ4 types get a Q6_K output.
  EXPECT_EQ(pick("Q8_0", "output.weight", kMat), DType::kQ8_0);
  EXPECT_EQ(pick("Q4_0", "output.weight", kMat), DType::kQ6_K);
  EXPECT_EQ(pick("IQ4_NL", "output.weight", kMat), DType::kQ6_K);
  EXPECT_EQ(pick("Q4_0", "blk.0.attn_v.weight", kMat), DType::kQ4_0);
  EXPECT_EQ(pick("F16", "output.weight", kMat), DType::kF16);
  EXPECT_EQ(pick("BF16", "blk.0.ffn_down_exps.weight", {8, 64, 96}), DType::kBF16);
}

TEST(QuantRecipe, CodebookTypes) {
  // Output Q5_K; token_embd 2-3 bits; value path Q4_K for MoE (4+ experts) or GQA >= 4, else
  // Q2_K; ffn_down Q2_K in the first eighth of the layers (32 / 8 = 4); the rest the base type.
  const auto choose = [&](const char* target, const char* name, std::int64_t gqa, std::int64_t experts) {
    return choose_tensor_type(*parse_quant_target(target), {name, kMat, 32, gqa, true, experts}, false).dtype;
  };
  for (const char* target : {"IQ2_XXS", "IQ1_S", "IQ1_M"}) {
    EXPECT_EQ(choose(target, "output.weight", 1, 0), DType::kQ5_K) << target;
    EXPECT_EQ(choose(target, "blk.5.attn_v.weight", 1, 0), DType::kQ2_K) << target;
    EXPECT_EQ(choose(target, "blk.5.attn_kv_b.weight", 1, 256), DType::kQ4_K) << target;
    EXPECT_EQ(choose(target, "blk.5.attn_v.weight", 4, 0), DType::kQ4_K) << target;
    EXPECT_EQ(choose(target, "blk.3.ffn_down_exps.weight", 1, 256), DType::kQ2_K) << target;
  }
  EXPECT_EQ(choose("IQ2_XXS", "token_embd.weight", 1, 0), DType::kQ2_K);
  EXPECT_EQ(choose("IQ1_M", "token_embd.weight", 1, 0), DType::kQ3_K);
  EXPECT_EQ(choose("IQ1_S", "blk.4.ffn_down_exps.weight", 1, 256), DType::kIQ1_S);
  EXPECT_EQ(choose("IQ1_M", "blk.9.ffn_gate_exps.weight", 1, 256), DType::kIQ1_M);
  EXPECT_EQ(choose("IQ2_XXS", "blk.9.attn_q_a.weight", 1, 256), DType::kIQ2_XXS);
  // Rows that are not whole 256-element blocks step to IQ4_NL.
  EXPECT_EQ(fallback_type(DType::kIQ2_XXS, 160), DType::kIQ4_NL);
  EXPECT_EQ(fallback_type(DType::kIQ1_M, 160), DType::kIQ4_NL);
}

TEST(QuantRecipe, TiedEmbeddingsMakeTokenEmbdTheOutput) {
  auto t = parse_quant_target("Q4_K_M");
  const std::vector<std::int64_t> shape = {151936, 1536};
  EXPECT_EQ(choose_tensor_type(*t, {"token_embd.weight", shape, 28, 6, false}, false).dtype,
            DType::kQ6_K);
  EXPECT_EQ(choose_tensor_type(*t, {"token_embd.weight", shape, 28, 6, true}, false).dtype,
            DType::kQ4_K);
  EXPECT_EQ(choose_tensor_type(*t, {"token_embd.weight", shape, 28, 6, false}, true).dtype,
            DType::kQ4_K);
}

TEST(QuantRecipe, PureDisablesBumpsOnly) {
  EXPECT_EQ(pick("Q4_K_M", "output.weight", kMat, 32, 1, true), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.0.attn_v.weight", kMat, 32, 1, true), DType::kQ4_K);
  EXPECT_EQ(pick("Q4_K_M", "blk.0.attn_v.weight", {4096, 160}, 32, 1, true), DType::kQ5_0);
  EXPECT_EQ(pick("Q4_K_M", "blk.0.attn_norm.weight", {4096}, 32, 1, true), DType::kF32);
}

TEST(QuantRecipe, RowWidthFallback) {
  // 256-element K blocks -> a 32-element type of at least as many bits; no fit -> F16.
  EXPECT_EQ(fallback_type(DType::kQ2_K, 160), DType::kIQ4_NL);
  EXPECT_EQ(fallback_type(DType::kQ3_K, 160), DType::kIQ4_NL);
  EXPECT_EQ(fallback_type(DType::kIQ4_XS, 160), DType::kIQ4_NL);
  EXPECT_EQ(fallback_type(DType::kQ4_K, 160), DType::kQ5_0);
  EXPECT_EQ(fallback_type(DType::kQ5_K, 160), DType::kQ5_1);
  EXPECT_EQ(fallback_type(DType::kQ6_K, 160), DType::kQ8_0);
  EXPECT_EQ(fallback_type(DType::kQ6_K, 512), DType::kQ6_K);
  EXPECT_EQ(fallback_type(DType::kQ4_K, 120), DType::kF16);
  EXPECT_EQ(fallback_type(DType::kQ8_0, 120), DType::kF16);
  EXPECT_EQ(fallback_type(DType::kQ4_0, 64), DType::kQ4_0);
  EXPECT_EQ(fallback_type(DType::kF16, 7), DType::kF16);
  auto t = parse_quant_target("Q4_K_M");
  const std::vector<std::int64_t> shape = {64, 120};
  const TypeChoice c = choose_tensor_type(*t, {"blk.0.attn_output.weight", shape, 2, 1}, false);
  EXPECT_EQ(c.wanted, DType::kQ4_K);
  EXPECT_EQ(c.dtype, DType::kF16);
  EXPECT_TRUE(c.fell_back);
}

}  // namespace
}  // namespace whale
