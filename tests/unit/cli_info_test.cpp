// cli_info_test.cpp — `whale info` end to end on a GGUF written by GgufWriter and on a Hugging
// Face folder written by the test, in text and --json form.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "unit/test_files.h"
#include "unit/test_models.h"

namespace whale {
namespace {

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

class CliInfo : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(test::whale_bin().empty()) << "WHALE_BIN not set (run the tests through ctest)";
  }
};

TEST_F(CliInfo, GgufJson) {
  const auto path = test::scratch_dir() / "tiny-ds.gguf";
  test::write_tiny_deepseek2_gguf(path);
  const auto r = test::run_whale({"info", path.string(), "--json", "--ctx", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["architecture"], "deepseek2");
  EXPECT_EQ(j["format"], "gguf");
  EXPECT_EQ(j["files"], 1);
  EXPECT_EQ(j["file_bytes"], std::filesystem::file_size(path));
  EXPECT_EQ(j["tensors"], test::kTinyDsTensors);
  EXPECT_EQ(j["params_total"], test::kTinyDsTotalParams);
  EXPECT_EQ(j["params_active"], test::kTinyDsActiveParams);
  EXPECT_EQ(j["layers"], 3);
  EXPECT_EQ(j["hidden_size"], 64);
  EXPECT_EQ(j["vocab_size"], 100);
  EXPECT_EQ(j["context_length"], 256);
  EXPECT_EQ(j["attention"], "mla");
  EXPECT_EQ(j["experts"]["routed"], 4);
  EXPECT_EQ(j["experts"]["used"], 2);
  EXPECT_EQ(j["experts"]["shared"], 1);
  EXPECT_EQ(j["experts"]["ffn"], 16);
  EXPECT_EQ(j["experts"]["first_dense_layers"], 1);
  EXPECT_EQ(j["dtypes"]["Q8_0"]["tensors"], 1);
  EXPECT_EQ(j["dtypes"]["Q8_0"]["bytes"], 6800);
  EXPECT_EQ(j["dtypes"]["F16"]["tensors"], 7);
  EXPECT_EQ(j["dtypes"]["F32"]["tensors"], 33);
  EXPECT_EQ(j["kv_cache"]["tokens"], 1000);
  EXPECT_EQ(j["kv_cache"]["values_per_token_per_layer"], 48);
  EXPECT_EQ(j["kv_cache"]["bytes_f16"], 3 * 48 * 1000 * 2);
  EXPECT_EQ(j["kv_cache"]["bytes_f32"], 3 * 48 * 1000 * 4);
}

TEST_F(CliInfo, GgufTextWithMetadataAndTensors) {
  const auto path = test::scratch_dir() / "tiny-ds.gguf";
  test::write_tiny_deepseek2_gguf(path);
  const auto r = test::run_whale({"info", path.string(), "--metadata", "--tensors"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "GGUF v3, 1 file")) << r.out;
  EXPECT_TRUE(contains(r.out, "architecture  deepseek2")) << r.out;
  EXPECT_TRUE(contains(r.out, "115.2 K total, 102.9 K active per token")) << r.out;
  EXPECT_TRUE(contains(r.out, "layers        3, hidden 64, vocab 100, context 256")) << r.out;
  EXPECT_TRUE(contains(r.out, "MLA")) << r.out;
  EXPECT_TRUE(contains(r.out, "48 values/token/layer (MLA latent + rope key); 256 tokens")) << r.out;
  EXPECT_TRUE(contains(r.out, "deepseek2.expert_count")) << r.out;
  EXPECT_TRUE(contains(r.out, "blk.2.ffn_down_exps.weight")) << r.out;
  EXPECT_TRUE(contains(r.out, "[4, 64, 16]")) << r.out;
}

TEST_F(CliInfo, HfFolderTextAndJson) {
  const auto dir = test::scratch_dir() / "qwen";
  test::write_tiny_qwen2_folder(dir);
  const auto r = test::run_whale({"info", dir.string(), "--json", "-c", "100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["architecture"], "qwen2");
  EXPECT_EQ(j["name"], "Qwen2ForCausalLM");
  EXPECT_EQ(j["format"], "safetensors");
  EXPECT_EQ(j["params_total"], test::kTinyQwenTotalParams);
  EXPECT_EQ(j["params_active"], test::kTinyQwenTotalParams);
  EXPECT_EQ(j["tensors"], test::kTinyQwenTensors);
  EXPECT_EQ(j["layers"], 2);
  EXPECT_EQ(j["attention"], "gqa");
  EXPECT_EQ(j["experts"]["routed"], 0);
  EXPECT_EQ(j["dtypes"]["BF16"]["params"], test::kTinyQwenTotalParams - 160);
  EXPECT_EQ(j["kv_cache"]["values_per_token_per_layer"], 32);
  EXPECT_EQ(j["kv_cache"]["bytes_f16"], 2 * 32 * 100 * 2);
  EXPECT_EQ(j["file_bytes"], std::filesystem::file_size(dir / "model.safetensors"));

  const auto t = test::run_whale({"info", dir.string()});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_TRUE(contains(t.out, "safetensors, 1 file")) << t.out;
  EXPECT_TRUE(contains(t.out, "4 heads, 2 KV heads (GQA), head dim 8, qkv bias")) << t.out;
  EXPECT_TRUE(contains(t.out, "experts       none (dense)")) << t.out;
  EXPECT_TRUE(contains(t.out, "21.9 K total, 21.9 K active")) << t.out;
}

TEST_F(CliInfo, UsageErrors) {
  const auto none = test::run_whale({"info"});
  EXPECT_NE(none.exit_code, 0);
  const auto bogus = test::run_whale({"frobnicate"});
  EXPECT_NE(bogus.exit_code, 0);
}

}  // namespace
}  // namespace whale
