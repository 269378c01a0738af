// shape_bench_test.cpp — whale-make-shape-model writes the R1-Distill-Qwen-1.5B shape (one
// layer, small vocabulary) that `whale info` and `whale bench --json` read; expected shapes and
// byte counts come from the model's public config and the Q8_0 block layout, worked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

#include <unistd.h>

#include "format/gguf.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kVocab = 256;  // --tiny-vocab

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// Runs a shell command; returns its stdout, and its exit status in `status`.
std::string run(const std::string& cmd, int& status) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), &pclose);
  std::string out;
  if (!p) {
    status = -1;
    return out;
  }
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p.get())) > 0) out.append(buf, n);
  status = pclose(p.release());
  return out;
}

class ShapeModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(env_or("WHALE_TEST_TMP", WHALE_TEST_TMP_DIR)) / "shape_bench_test";
    fs::create_directories(dir_);
    // CTest runs each case as its own process, in parallel: one file per process, or one case
    // reads the file while another rewrites it.
    model_ = dir_ / ("qwen-1layer-" + std::to_string(getpid()) + ".gguf");
    int status = 0;
    const std::string cmd = std::string(WHALE_MAKE_SHAPE_MODEL) + " r1-distill-qwen-1.5b " + model_.string() +
                            " --type q8_0 --layers 1 --tiny-vocab " + std::to_string(kVocab) + " -t 2";
    run(cmd, status);
    ASSERT_EQ(status, 0) << cmd;
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove(model_, ignored);
  }
  // The command line of `whale bench` on this suite's model with `args` after it.
  static std::string bench_cmd(const std::string& args) {
    return env_or("WHALE_BIN", "whale") + std::string(" bench -m ") + model_.string() + " " + args;
  }
  // The JSON that `bench_cmd(args)` prints (args must ask for --json); a command that fails
  // fails the test and gives null.
  static nlohmann::json bench_json(const std::string& args) {
    int status = 0;
    const std::string cmd = bench_cmd(args);
    const std::string out = run(cmd, status);
    if (status != 0) {
      ADD_FAILURE() << cmd << " exited with status " << status;
      return nullptr;
    }
    return nlohmann::json::parse(out);
  }
  static inline fs::path dir_;
  static inline fs::path model_;
};

// R1-Distill-Qwen-1.5B (config.json): hidden 1536, 12 heads x 128, 2 KV heads, FFN 8960.
constexpr std::int64_t kHidden = 1536, kKv = 2 * 128, kFfn = 8960;

std::uint64_t q8_0_bytes(std::int64_t rows, std::int64_t cols) {
  return static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols / 32 * 34);  // 32 values: f16 d + 32 int8
}

TEST_F(ShapeModel, HasQwen2TensorsAndMetadata) {
  auto f = open_gguf(model_);
  ASSERT_TRUE(f.ok()) << f.error().what();
  const Metadata& m = f->contents.metadata;
  EXPECT_EQ(m.get_string("general.architecture").value(), "qwen2");
  EXPECT_EQ(m.get_int("qwen2.embedding_length").value(), kHidden);
  EXPECT_EQ(m.get_int("qwen2.block_count").value(), 1);
  EXPECT_EQ(m.get_int("qwen2.attention.head_count").value(), 12);
  EXPECT_EQ(m.get_int("qwen2.attention.head_count_kv").value(), 2);
  EXPECT_EQ(m.get_int("qwen2.feed_forward_length").value(), kFfn);
  EXPECT_EQ(m.get_string("tokenizer.ggml.model").value(), "gpt2");
  const std::map<std::string, std::vector<std::int64_t>> want = {
      {"token_embd.weight", {kVocab, kHidden}},      {"output.weight", {kVocab, kHidden}},
      {"output_norm.weight", {kHidden}},             {"blk.0.attn_norm.weight", {kHidden}},
      {"blk.0.ffn_norm.weight", {kHidden}},          {"blk.0.attn_q.weight", {kHidden, kHidden}},
      {"blk.0.attn_k.weight", {kKv, kHidden}},       {"blk.0.attn_v.weight", {kKv, kHidden}},
      {"blk.0.attn_q.bias", {kHidden}},              {"blk.0.attn_k.bias", {kKv}},
      {"blk.0.attn_v.bias", {kKv}},                  {"blk.0.attn_output.weight", {kHidden, kHidden}},
      {"blk.0.ffn_gate.weight", {kFfn, kHidden}},    {"blk.0.ffn_up.weight", {kFfn, kHidden}},
      {"blk.0.ffn_down.weight", {kHidden, kFfn}}};
  ASSERT_EQ(f->contents.tensors.size(), want.size());
  for (const auto& t : f->contents.tensors) {
    auto it = want.find(t.name);
    ASSERT_NE(it, want.end()) << t.name;
    EXPECT_EQ(t.shape, it->second) << t.name;
    EXPECT_EQ(t.dtype, t.shape.size() == 2 ? DType::kQ8_0 : DType::kF32) << t.name;
  }
}

TEST_F(ShapeModel, SameFileWhateverTheThreadCount) {
  const fs::path one = dir_ / "qwen-1layer-t1.gguf";
  int status = 0;
  run(std::string(WHALE_MAKE_SHAPE_MODEL) + " r1-distill-qwen-1.5b " + one.string() +
          " --type q8_0 --layers 1 --tiny-vocab " + std::to_string(kVocab) + " -t 1",
      status);
  ASSERT_EQ(status, 0);
  auto a = open_gguf(model_);
  auto b = open_gguf(one);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->file.size(), b->file.size());
  EXPECT_TRUE(std::equal(a->file.bytes().begin(), a->file.bytes().end(), b->file.bytes().begin()));
  fs::remove(one);
}

TEST_F(ShapeModel, WhaleInfoReadsIt) {
  int status = 0;
  const std::string out = run(env_or("WHALE_BIN", "whale") + std::string(" info --json ") + model_.string(), status);
  ASSERT_EQ(status, 0);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["architecture"], "qwen2");
  EXPECT_EQ(j["hidden_size"], kHidden);
  EXPECT_EQ(j["layers"], 1);
  EXPECT_EQ(j["vocab_size"], kVocab);
  EXPECT_NE(j["attention_detail"].get<std::string>().find("12 heads, 2 KV heads"), std::string::npos);
}

TEST_F(ShapeModel, WhaleBenchJsonHasTheRequiredFields) {
  const auto j = bench_json("-p 8 -n 4 -r 1 -t 2 --json --bandwidth-mib 16");
  ASSERT_FALSE(j.is_null());
  auto positive = [](const nlohmann::json& v) { return v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() > 0; };
  EXPECT_TRUE(positive(j["prefill"]["tokens_per_s"]));
  EXPECT_TRUE(positive(j["decode"]["tokens_per_s"]));
  for (const char* k : {"read_bandwidth_gbs_before", "read_bandwidth_gbs_after", "fp32_gflops", "int8_gops"})
    EXPECT_TRUE(positive(j["limits"][k])) << k;
  EXPECT_TRUE(positive(j["prefill"]["roofline_fraction"]));
  EXPECT_TRUE(positive(j["decode"]["roofline_fraction"]));
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["model"], model_.string());
  EXPECT_EQ(j["prefill"]["peak"], "int8");  // Q8_0 weights
  // ... so the int8 peak is that of the Q8_0 kernel's per-block sequence.
  // (Where the VNNI kernels run, Q8_0 prefill runs on 512-bit registers: x biased by a xor,
  // then vpdpbusd.)
  const std::string chain = j["limits"]["int8_chain"];
  EXPECT_TRUE(chain == "sign+maddubs+madd+cvt+fma" || chain == "xor+dpbusd+cvt+fma zmm") << chain;
  // ... and says which kernel set ran, the one whose chain was measured.
  const std::string kernels = j["limits"]["integer_kernels"];
  EXPECT_EQ(kernels == "avx2+avx512vnni", chain == "xor+dpbusd+cvt+fma zmm") << kernels;
  EXPECT_EQ(j["logits_hash"].get<std::string>().size(), 16u);

  // Bytes read per decoded token: every tensor once, but only one row of the (untied)
  // embedding table.
  const std::uint64_t matrices = q8_0_bytes(kVocab, kHidden) + 2 * q8_0_bytes(kHidden, kHidden) +
                                 2 * q8_0_bytes(kKv, kHidden) + 2 * q8_0_bytes(kFfn, kHidden) +
                                 q8_0_bytes(kHidden, kFfn);
  const std::uint64_t vectors = 4 * (3 * kHidden + kHidden + 2 * kKv);  // norms + q/k/v biases, f32
  EXPECT_EQ(j["decode"]["weight_bytes_per_token"].get<std::uint64_t>(), matrices + vectors + q8_0_bytes(1, kHidden));
  // Prefill ops: 2 per weight of every matrix and vector except the embedding table, the
  // output head's only for the last of the 8 prompt tokens (no other logits are computed),
  // plus the causal attention: prompt token i attends i + 1 positions, 4.5 on average, each
  // a 128-wide q·k and a 128-wide sum of values for each of the 12 heads.
  const double body = static_cast<double>(2 * kHidden * kHidden + 2 * kKv * kHidden + 3 * kFfn * kHidden +
                                          4 * kHidden + 2 * kKv);
  const double head = static_cast<double>(kVocab * kHidden);
  const double attention_ops = 2.0 * (128 + 128) * 12 * 4.5;
  EXPECT_DOUBLE_EQ(j["prefill"]["ops_per_token"].get<double>(), 2 * (body + head / 8) + attention_ops);
  // Each weight's ops run at the peak of its own arithmetic: the Q8_0 matrices on the
  // 32-element blocks' chain, the norms and biases (f32 vectors) and the attention on f32
  // FMAs; the roofline is the time of both at their peaks.
  const double vector_ops = 2.0 * (4 * kHidden + 2 * kKv);
  const double matrix_ops = 2 * (body + head / 8) - vector_ops;
  const auto& by_chain = j["prefill"]["ops_per_token_by_chain"];
  ASSERT_EQ(by_chain.size(), 2u) << by_chain.dump();
  EXPECT_DOUBLE_EQ(by_chain[chain].get<double>(), matrix_ops);
  EXPECT_DOUBLE_EQ(by_chain["fma"].get<double>(), vector_ops + attention_ops);
  const double seconds = matrix_ops / (j["limits"]["int8_gops"].get<double>() * 1e9) +
                         (vector_ops + attention_ops) / (j["limits"]["fp32_gflops"].get<double>() * 1e9);
  EXPECT_NEAR(j["prefill"]["roofline_tokens_per_s"].get<double>(), 1.0 / seconds, 1e-9 / seconds);
  EXPECT_TRUE(positive(j["limits"]["int8_other_gops"]));  // the K-quants' chain, measured too
  // The loader touched every page of the file (it is far smaller than the memory), so after
  // the runs all of it is in memory; the part in 2 MiB pages is the kernel's choice, never more.
  const auto file_bytes = j["file_bytes"].get<std::uint64_t>();
  const auto resident = j["weights_resident_bytes"].get<std::uint64_t>();
  EXPECT_GE(resident, file_bytes);
  EXPECT_LT(resident, file_bytes + 4096);
  EXPECT_LE(j["weights_huge_page_bytes"].get<std::uint64_t>(), resident);
}

TEST_F(ShapeModel, BenchLogitsHashIsRepeatable) {
  const auto a = bench_json("-p 4 -n 2 -r 1 -t 2 --json --bandwidth-mib 8");
  const auto b = bench_json("-p 4 -n 2 -r 1 -t 2 --json --bandwidth-mib 8");
  ASSERT_FALSE(a.is_null() || b.is_null());
  EXPECT_EQ(a["logits_hash"], b["logits_hash"]);
  EXPECT_EQ(a["decode_logits_hash"], b["decode_logits_hash"]);
}

// --profile accounts for every weight byte a decoded token reads through the integer path (all
// matrices of this Q8_0 model but the embedding table: q/k/v, o, gate/up, down and the head),
// in five calls a token (q/k/v and gate/up are one batch each), and for the whole step.
TEST_F(ShapeModel, BenchProfileAccountsForEveryProductOfADecodedToken) {
  const auto j = bench_json("-p 8 -n 4 -r 1 -t 2 --json --bandwidth-mib 16 --profile");
  ASSERT_FALSE(j.is_null());
  const auto& p = j["decode"]["profile"];
  double calls = 0, bytes = 0, ms = 0;
  for (const auto& c : p["integer_products"]) {
    calls += c["calls_per_token"].get<double>();
    bytes += c["gb_per_s"].get<double>() * 1e9 * c["ms_per_token"].get<double>() * 1e-3;
    ms += c["ms_per_token"].get<double>();
    EXPECT_GT(c["ms_per_token"].get<double>(), 0.0) << c.dump();
  }
  EXPECT_DOUBLE_EQ(calls, 5.0);
  const std::uint64_t matrices = q8_0_bytes(kVocab, kHidden) + 2 * q8_0_bytes(kHidden, kHidden) +
                                 2 * q8_0_bytes(kKv, kHidden) + 2 * q8_0_bytes(kFfn, kHidden) +
                                 q8_0_bytes(kHidden, kFfn);
  EXPECT_NEAR(bytes, static_cast<double>(matrices), 1e-6 * static_cast<double>(matrices));
  // One repeat: the step's time is that run's, and the products lie inside it.
  const double step_ms = p["ms_per_token"].get<double>();
  EXPECT_NEAR(step_ms, 1e3 / j["decode"]["tokens_per_s"].get<double>(), 1e-9 * step_ms);
  EXPECT_NEAR(p["outside_integer_products_ms_per_token"].get<double>(), step_ms - ms, 1e-9 * step_ms);
  EXPECT_GT(p["outside_integer_products_ms_per_token"].get<double>(), 0.0);
  // Without the flag there is no profile.
  const auto plain = bench_json("-p 8 -n 4 -r 1 -t 2 --json --bandwidth-mib 16");
  ASSERT_FALSE(plain.is_null());
  EXPECT_FALSE(plain["decode"].contains("profile"));
}

TEST_F(ShapeModel, BenchRejectsBadCounts) {
  int status = 0;
  run(bench_cmd("-p 0 2>/dev/null"), status);
  EXPECT_NE(status, 0);
}


// The demo model (tools/demo_model: a miniature DeepSeek-V3, all F32) has routed experts: a
// decoded token reads (used / total) of them. Shapes from make_demo_model.cpp: hidden 64,
// 2 layers (first dense), 2 heads, q_lora 32, kv_lora 32, nope 16, rope 8, v 16, FFN 96,
// 4 experts of width 32 (2 used) + 1 shared, vocabulary 256 bytes + 6 specials.
TEST(DemoModelBench, DecodeReadsTheChosenShareOfRoutedExperts) {
  const fs::path dir = fs::path(env_or("WHALE_TEST_TMP", "/tmp")) / "shape_bench_test";
  fs::create_directories(dir);
  const fs::path model = dir / "demo.gguf";
  int status = 0;
  run(std::string(WHALE_MAKE_DEMO_MODEL) + " " + model.string() + " >/dev/null", status);
  ASSERT_EQ(status, 0);
  const std::string out = run(env_or("WHALE_BIN", "whale") + std::string(" bench -m ") + model.string() +
                                  " -p 4 -n 2 -r 1 -t 1 --json --bandwidth-mib 8",
                              status);
  ASSERT_EQ(status, 0);
  const auto j = nlohmann::json::parse(out);
  const std::int64_t h = 64, vocab = 262, ffn = 96, e = 4, eff = 32;
  const std::int64_t attention = 32 * h + 32 + 2 * 24 * 32 + 40 * h + 32 + 2 * 32 * 16 + 2 * 16 * 32 + h * 32;
  const std::int64_t norms = 2 * h;
  const std::int64_t dense_ffn = 3 * ffn * h;
  const std::int64_t router = e * h + e;
  const std::int64_t shared = 3 * eff * h;
  const std::int64_t routed_used = 3 * eff * h * 2;  // 2 of the 4 experts
  const std::int64_t head = h + vocab * h;           // output norm and projection
  const std::int64_t floats_per_token = head + 2 * (attention + norms) + dense_ffn + router + shared + routed_used;
  EXPECT_EQ(j["decode"]["weight_bytes_per_token"].get<std::int64_t>(), 4 * (floats_per_token + h));  // + one embedding row
  // The projection runs for the last of the 4 prompt tokens only. The prompt's attention runs
  // MLA expanded: per head and attended position a (16 + 8)-wide q·k and a 16-wide sum of
  // values, 2 heads, 2 layers, (4 + 1) / 2 positions on average.
  const double prefill_floats = static_cast<double>(floats_per_token - vocab * h) + static_cast<double>(vocab * h) / 4;
  const double attention_ops = 2.0 * (24 + 16) * 2 * 2 * 2.5;
  EXPECT_DOUBLE_EQ(j["prefill"]["ops_per_token"].get<double>(), 2.0 * prefill_floats + attention_ops);
  EXPECT_EQ(j["prefill"]["peak"], "fp32");  // float weights
  EXPECT_EQ(j["weight_type"], "F32");
}

}  // namespace
}  // namespace whale
