// weight_types_test.cpp — a model stored with a codebook type loads and runs; one with a type
// whale has no kernel for fails at load with one error naming the tensor and the type.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

#include "format/gguf_writer.h"
#include "format/model_files.h"
#include "model/model.h"
#include "quant/dequantize.h"
#include "runtime/engine_test_util.h"

namespace whale {
namespace {

// deepseek-v3-k256-tiny (every matrix row 256 wide) rewritten with `victim` stored as `type`:
// quantized from its F32 values when whale can write the type, else zero bytes of its size.
std::filesystem::path rewrite(const std::string& victim, DType type) {
  const auto in = test::tiny_model("deepseek-v3-k256-tiny", "f32");
  auto files = open_model_files(in);
  EXPECT_TRUE(files.ok()) << (files.ok() ? "" : files.error().what());
  GgufWriter w(files->gguf_metadata);
  bool found = false;
  for (const TensorRecord& t : files->tensors.all()) {
    if (t.name != victim) {
      EXPECT_TRUE(w.add_tensor(t.name, t.dtype, t.shape, t.bytes).ok());
      continue;
    }
    found = true;
    std::vector<std::byte> out(*row_bytes(type, t.cols()) * static_cast<std::size_t>(t.rows()));
    if (has_quantize(type))
      quantize_row(type, reinterpret_cast<const float*>(t.bytes.data()), out.data(), t.numel());
    EXPECT_TRUE(w.add_tensor(t.name, type, t.shape, out).ok());
  }
  EXPECT_TRUE(found) << victim;
  const auto path = std::filesystem::path(WHALE_TEST_TMP_DIR) /
                    ("k256-" + std::string(dtype_name(type)) + "-" + std::to_string(getpid()) + ".gguf");
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

constexpr const char* kVictim = "blk.1.ffn_up_exps.weight";

TEST(WeightTypes, CodebookTypesLoadAndRun) {
  for (DType t : {DType::kIQ2_XXS, DType::kIQ1_S, DType::kIQ1_M}) {
    const auto path = rewrite(kVictim, t);
    auto model = load_model(path, LoadOptions{});
    ASSERT_TRUE(model.ok()) << dtype_name(t) << ": " << model.error().what();
    KvCache cache = (*model)->new_cache(8);
    const std::int64_t vocab = (*model)->config().vocab_size;
    std::vector<float> logits(static_cast<std::size_t>(3 * vocab));
    const std::vector<std::int32_t> tokens = {1, 2, 3};
    ASSERT_TRUE((*model)->forward(tokens, cache, Span2D<float>(logits.data(), 3, vocab)).ok());
    for (float v : logits) ASSERT_TRUE(std::isfinite(v)) << dtype_name(t);
    std::filesystem::remove(path);
  }
}

TEST(WeightTypes, TypeWithoutKernelFailsAtLoadNamingTensorAndType) {
  for (DType t : {DType::kIQ2_XS, DType::kIQ3_S, DType::kTQ1_0}) {
    const auto path = rewrite(kVictim, t);
    auto model = load_model(path, LoadOptions{});
    ASSERT_FALSE(model.ok()) << dtype_name(t);
    const std::string what = model.error().what();
    EXPECT_NE(what.find(kVictim), std::string::npos) << what;
    EXPECT_NE(what.find(std::string(dtype_name(t))), std::string::npos) << what;
    std::filesystem::remove(path);
  }
}

}  // namespace
}  // namespace whale
