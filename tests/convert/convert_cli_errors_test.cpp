// convert_cli_errors_test.cpp — bad input to `whale convert` / `whale quantize`: exit status 1
// and one error line that names the file or parameter at fault.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "format/gguf_writer.h"
#include "unit/test_files.h"

namespace whale {
namespace {

// Runs whale and checks: exit 1, nothing on stdout, exactly one stderr line containing every
// string of `needles`.
void expect_one_line_error(const std::vector<std::string>& args,
                           const std::vector<std::string>& needles) {
  const test::CommandResult r = test::run_whale(args);
  const std::string what = fmt::format("whale {}", fmt::join(args, " "));
  EXPECT_EQ(r.exit_code, 1) << what << "\n" << r.err;
  EXPECT_EQ(r.out, "") << what;
  ASSERT_FALSE(r.err.empty()) << what;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << "\n" << r.err;
  for (const std::string& n : needles)
    EXPECT_NE(r.err.find(n), std::string::npos) << what << ": '" << n << "' not in: " << r.err;
}

std::filesystem::path small_gguf(const std::filesystem::path& dir) {
  Metadata md;
  md.set("general.architecture", meta_str("llama"));
  md.set("llama.block_count", meta_u32(1));
  GgufWriter w(md);
  std::vector<float> v(64 * 64, 0.5f);
  EXPECT_TRUE(w.add_tensor("blk.0.ffn_up.weight", DType::kF32, {64, 64}, test::as_bytes(v)).ok());
  const auto p = dir / "small.gguf";
  EXPECT_TRUE(w.write(p).ok());
  return p;
}

TEST(ConvertCliErrors, Convert) {
  ASSERT_FALSE(test::whale_bin().empty()) << "WHALE_BIN not set";
  const auto dir = test::scratch_dir();
  const std::string out = (dir / "out.gguf").string();
  expect_one_line_error({"convert", (dir / "no-such-folder").string(), "-o", out},
                        {"no-such-folder", "not a folder"});
  std::filesystem::create_directories(dir / "empty");
  expect_one_line_error({"convert", (dir / "empty").string(), "-o", out}, {"empty", "config.json"});
  std::filesystem::create_directories(dir / "gpt2");
  test::write_text(dir / "gpt2" / "config.json",
                   R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"})");
  expect_one_line_error({"convert", (dir / "gpt2").string(), "-o", out},
                        {"config.json", "gpt2", "not supported"});
  expect_one_line_error({"convert", (dir / "gpt2").string(), "-o", out, "--type", "q7_k"},
                        {"--type", "q7_k"});
  expect_one_line_error({"convert", (dir / "gpt2").string(), "-o", out, "--type", "IQ2_XS"},
                        {"--type", "IQ2_XS", "not supported"});
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(ConvertCliErrors, Quantize) {
  ASSERT_FALSE(test::whale_bin().empty()) << "WHALE_BIN not set";
  const auto dir = test::scratch_dir();
  const auto good = small_gguf(dir);
  const std::string out = (dir / "out.gguf").string();
  expect_one_line_error({"quantize", (dir / "missing.gguf").string(), out, "Q8_0"},
                        {"missing.gguf"});
  expect_one_line_error({"quantize", good.string(), out, "Q9_9"}, {"TYPE", "Q9_9"});
  expect_one_line_error({"quantize", good.string(), out, "IQ3_S"},
                        {"TYPE", "IQ3_S", "not supported"});
  // Truncated: the tensor data ends early.
  auto bytes = test::read_bytes(good);
  bytes.resize(bytes.size() - 100);
  test::write_bytes(dir / "truncated.gguf", bytes);
  expect_one_line_error({"quantize", (dir / "truncated.gguf").string(), out, "Q8_0"},
                        {"truncated.gguf"});
  // Header cut inside the metadata.
  bytes.resize(40);
  test::write_bytes(dir / "cut.gguf", bytes);
  expect_one_line_error({"quantize", (dir / "cut.gguf").string(), out, "Q8_0"}, {"cut.gguf"});
  // Already quantized.
  ASSERT_EQ(
      test::run_whale({"quantize", good.string(), (dir / "q8.gguf").string(), "Q8_0"}).exit_code,
      0);
  expect_one_line_error({"quantize", (dir / "q8.gguf").string(), out, "Q4_0"},
                        {"q8.gguf", "blk.0.ffn_up.weight", "Q8_0", "--allow-requantize"});
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace whale
