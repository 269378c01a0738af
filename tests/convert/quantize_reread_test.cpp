// quantize_reread_test.cpp — `quantize_gguf` outputs re-read: metadata identical except
// general.file_type / general.quantization_version, tensor order and shapes kept, each tensor
// of the recipe's type and byte-equal to quantize_row of the decoded source (the source bytes
// themselves when the type is unchanged); thread counts give identical files.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "convert/quantize_gguf.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "quant/dequantize.h"
#include "unit/test_files.h"

namespace whale {
namespace {

struct Spec {
  const char* name;
  std::vector<std::int64_t> shape;
  DType dtype;
};

// Row widths 256/512 (K blocks fit), 96 (only 32-blocks fit) and 120 (nothing fits: F16).
const std::vector<Spec> kSpecs = {
    {"token_embd.weight", {40, 256}, DType::kF32},
    {"output_norm.weight", {256}, DType::kF32},
    {"output.weight", {40, 256}, DType::kF32},
    {"blk.0.attn_norm.weight", {256}, DType::kF32},
    {"blk.0.attn_v.weight", {64, 256}, DType::kF16},
    {"blk.0.attn_output.weight", {48, 120}, DType::kF32},
    {"blk.0.ffn_down.weight", {64, 512}, DType::kBF16},
    {"blk.1.ffn_gate_inp.weight", {4, 256}, DType::kF32},
    {"blk.1.ffn_down_exps.weight", {3, 32, 512}, DType::kF32},
    {"blk.1.attn_k_b.weight", {2, 16, 96}, DType::kF32},
};

std::filesystem::path make_source(const std::filesystem::path& dir) {
  Metadata md;
  md.set("general.architecture", meta_str("llama"));
  md.set("general.name", meta_str("synthetic"));
  md.set("general.file_type", meta_u32(0));
  md.set("llama.block_count", meta_u32(2));
  md.set("llama.attention.head_count", meta_u32(4));
  md.set("llama.attention.head_count_kv", meta_u32(4));
  md.set("llama.rope.freq_base", meta_f32(1e6f));
  md.set("tokenizer.ggml.tokens", meta_str_array({"a", "b", "c"}));
  md.set("some.vendor.key", meta_i32_array({1, -2, 3}));
  GgufWriter w(md);
  std::mt19937 rng(7);
  std::student_t_distribution<float> heavy(3.0f);  // outliers, as real weights have
  for (const Spec& s : kSpecs) {
    std::int64_t n = 1;
    for (auto d : s.shape) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = 0.05f * heavy(rng);
    std::vector<std::byte> bytes(*row_bytes(s.dtype, s.shape.back()) *
                                 static_cast<std::size_t>(n / s.shape.back()));
    const std::size_t rb = *row_bytes(s.dtype, s.shape.back());
    for (std::int64_t r = 0; r < n / s.shape.back(); ++r)
      quantize_row(s.dtype, v.data() + r * s.shape.back(), bytes.data() + r * rb, s.shape.back());
    EXPECT_TRUE(w.add_tensor(s.name, s.dtype, s.shape, bytes).ok());
  }
  const auto path = dir / "source.gguf";
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

void expect_reread(const std::filesystem::path& in, const std::filesystem::path& out,
                   const QuantTarget& target, bool pure) {
  auto a = open_gguf(in);
  auto b = open_gguf(out);
  ASSERT_TRUE(a.ok() && b.ok());
  const Metadata& ma = a->contents.metadata;
  const Metadata& mb = b->contents.metadata;
  for (const auto& [k, v] : ma.entries()) {
    if (k == "general.file_type") continue;
    const MetaValue* got = mb.find(k);
    ASSERT_NE(got, nullptr) << k;
    EXPECT_TRUE(*got == v) << k;
  }
  EXPECT_EQ(mb.get_int_or("general.file_type", -1), target.file_type);
  EXPECT_EQ(mb.get_int_or("general.quantization_version", -1), 2);
  // Nothing else added.
  EXPECT_EQ(mb.size(), ma.size() + (ma.contains("general.quantization_version") ? 0 : 1));
  ASSERT_EQ(a->contents.tensors.size(), b->contents.tensors.size());
  for (std::size_t i = 0; i < a->contents.tensors.size(); ++i) {
    const TensorRecord& s = a->contents.tensors[i];
    const TensorRecord& t = b->contents.tensors[i];
    ASSERT_EQ(s.name, t.name);
    ASSERT_EQ(s.shape, t.shape);
    const DType want = choose_tensor_type(target, {s.name, s.shape, 2, 1}, pure).dtype;
    ASSERT_EQ(t.dtype, want) << target.name << " " << s.name;
    if (want == s.dtype) {
      EXPECT_TRUE(std::equal(s.bytes.begin(), s.bytes.end(), t.bytes.begin(), t.bytes.end()))
          << s.name;
      continue;
    }
    const std::int64_t cols = s.cols();
    const std::size_t srb = *row_bytes(s.dtype, cols), drb = *row_bytes(want, cols);
    std::vector<float> row(static_cast<std::size_t>(cols));
    std::vector<std::byte> expect(drb);
    for (std::int64_t r = 0; r < s.rows(); ++r) {
      dequantize_row(s.dtype, s.bytes.data() + r * srb, row.data(), cols);
      quantize_row(want, row.data(), expect.data(), cols);
      ASSERT_EQ(std::memcmp(expect.data(), t.bytes.data() + r * drb, drb), 0)
          << target.name << " " << s.name << " row " << r;
    }
  }
}

TEST(QuantizeReread, EveryTargetKeepsMetadataAndEncodesLikeQuantizeRow) {
  const auto dir = test::scratch_dir();
  const auto src = make_source(dir);
  for (const char* name :
       {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "IQ4_XS", "Q2_K",
        "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"}) {
    for (bool pure : {false, true}) {
      auto target = parse_quant_target(name);
      ASSERT_TRUE(target.ok()) << name;
      const auto out = dir / fmt::format("{}{}.gguf", name, pure ? "-pure" : "");
      auto r = quantize_gguf(src, out, {*target, 2, false, pure});
      ASSERT_TRUE(r.ok()) << name << ": " << r.error().what();
      expect_reread(src, out, *target, pure);
    }
  }
}

TEST(QuantizeReread, F32ToF32IsBitIdentical) {
  const auto dir = test::scratch_dir();
  const auto src = make_source(dir);
  auto r = quantize_gguf(src, dir / "f32.gguf", {*parse_quant_target("F32"), 1, false, false});
  ASSERT_TRUE(r.ok()) << r.error().what();
  auto a = open_gguf(src);
  auto b = open_gguf(dir / "f32.gguf");
  ASSERT_TRUE(a.ok() && b.ok());
  for (std::size_t i = 0; i < a->contents.tensors.size(); ++i) {
    const TensorRecord& s = a->contents.tensors[i];
    const TensorRecord& t = b->contents.tensors[i];
    if (s.dtype != DType::kF32) continue;  // F16/BF16 sources widen to F32
    EXPECT_EQ(t.dtype, DType::kF32);
    EXPECT_TRUE(std::equal(s.bytes.begin(), s.bytes.end(), t.bytes.begin(), t.bytes.end()))
        << s.name;
  }
}

TEST(QuantizeReread, ThreadCountDoesNotChangeTheFile) {
  const auto dir = test::scratch_dir();
  const auto src = make_source(dir);
  auto t = *parse_quant_target("Q4_K_M");
  ASSERT_TRUE(quantize_gguf(src, dir / "t1.gguf", {t, 1, false, false}).ok());
  ASSERT_TRUE(quantize_gguf(src, dir / "t3.gguf", {t, 3, false, false}).ok());
  EXPECT_EQ(test::read_bytes(dir / "t1.gguf"), test::read_bytes(dir / "t3.gguf"));
}

TEST(QuantizeReread, RequantizingNeedsTheFlag) {
  const auto dir = test::scratch_dir();
  const auto src = make_source(dir);
  ASSERT_TRUE(
      quantize_gguf(src, dir / "q8.gguf", {*parse_quant_target("Q8_0"), 2, false, false}).ok());
  auto refused = quantize_gguf(dir / "q8.gguf", dir / "q4.gguf",
                               {*parse_quant_target("Q4_0"), 2, false, false});
  ASSERT_FALSE(refused.ok());
  const std::string msg = refused.error().what();
  EXPECT_NE(msg.find("token_embd.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Q8_0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--allow-requantize"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir / "q4.gguf"));
  auto allowed = quantize_gguf(dir / "q8.gguf", dir / "q4.gguf",
                               {*parse_quant_target("Q4_0"), 2, true, false});
  ASSERT_TRUE(allowed.ok()) << allowed.error().what();
  expect_reread(dir / "q8.gguf", dir / "q4.gguf", *parse_quant_target("Q4_0"), false);
}

}  // namespace
}  // namespace whale
