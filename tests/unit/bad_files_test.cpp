// bad_files_test.cpp — every crafted hostile file (tests/data/bad/crafted.cpp) gives an Error
// naming the problem; through `whale info` one error line naming the file and exit status 1.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "data/bad/crafted.h"
#include "format/gguf.h"
#include "format/safetensors.h"
#include "model/config.h"
#include "unit/test_files.h"
#include "unit/test_models.h"

namespace whale {
namespace {

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

TEST(BadGguf, EachCraftedFileGivesItsError) {
  const auto files = test::crafted_gguf_files();
  ASSERT_GE(files.size(), 40u);
  for (const auto& f : files) {
    auto r = parse_gguf(f.bytes);
    ASSERT_FALSE(r.ok()) << f.name << " parsed";
    for (const auto& e : f.expect)
      EXPECT_TRUE(contains(r.error().what(), e)) << f.name << ": '" << r.error().what()
                                                 << "' lacks '" << e << "'";
  }
}

TEST(BadGguf, NamesAreUnique) {
  auto g = test::crafted_gguf_files();
  auto s = test::crafted_safetensors_files();
  std::vector<std::string> names;
  for (const auto& f : g) names.push_back(f.name);
  for (const auto& f : s) names.push_back(f.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

// Flipping any single byte of a valid file gives a result or an error, never a crash, and
// the result, when there is one, stays inside the image.
TEST(BadGguf, EverySingleByteCorruptionIsHandled) {
  const auto valid = test::small_valid_gguf();
  for (std::size_t i = 0; i < valid.size(); ++i) {
    for (int v : {0x00, 0xff, 0x80, 0x7f}) {
      auto bytes = valid;
      bytes[i] = static_cast<std::byte>(v);
      auto r = parse_gguf(bytes);
      if (!r.ok()) {
        EXPECT_FALSE(r.error().what().empty());
        continue;
      }
      for (const auto& t : r->tensors) {
        EXPECT_GE(t.bytes.data(), bytes.data());
        EXPECT_LE(t.bytes.data() + t.bytes.size(), bytes.data() + bytes.size());
      }
      (void)config_from_gguf(r->metadata);
    }
  }
}

TEST(BadSafetensors, EachCraftedFileGivesItsError) {
  const auto files = test::crafted_safetensors_files();
  ASSERT_GE(files.size(), 25u);
  for (const auto& f : files) {
    auto r = parse_safetensors(f.bytes);
    ASSERT_FALSE(r.ok()) << f.name << " parsed";
    for (const auto& e : f.expect)
      EXPECT_TRUE(contains(r.error().what(), e)) << f.name << ": '" << r.error().what()
                                                 << "' lacks '" << e << "'";
  }
}

TEST(BadSafetensors, EverySingleByteCorruptionIsHandled) {
  const auto valid = test::small_valid_safetensors();
  for (std::size_t i = 0; i < valid.size(); ++i) {
    for (int v : {0x00, 0xff, int{'"'}, int{'{'}, int{'9'}, int{'-'}}) {
      auto bytes = valid;
      bytes[i] = static_cast<std::byte>(v);
      auto r = parse_safetensors(bytes);
      if (!r.ok()) continue;
      for (const auto& t : r->tensors) {
        EXPECT_GE(t.bytes.data(), bytes.data());
        EXPECT_LE(t.bytes.data() + t.bytes.size(), bytes.data() + bytes.size());
      }
    }
  }
}

// One line on stderr, naming the file and every expected part of the message; exit 1.
void expect_cli_error(const std::vector<std::string>& args, const std::string& file,
                      const std::vector<std::string>& expect, const std::string& label) {
  const auto r = test::run_whale(args);
  EXPECT_EQ(r.exit_code, 1) << label << "\nstderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << label << "\nstdout: " << r.out;
  ASSERT_FALSE(r.err.empty()) << label;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << label << "\nstderr: " << r.err;
  EXPECT_TRUE(r.err.starts_with("whale info: error: ")) << label << ": " << r.err;
  EXPECT_TRUE(contains(r.err, file)) << label << ": " << r.err;
  for (const auto& e : expect) EXPECT_TRUE(contains(r.err, e)) << label << ": " << r.err << " lacks " << e;
}

TEST(BadFilesCli, GgufErrorsNameTheFile) {
  ASSERT_FALSE(test::whale_bin().empty()) << "WHALE_BIN not set (run the tests through ctest)";
  const auto dir = test::scratch_dir();
  for (const auto& f : test::crafted_gguf_files()) {
    const auto path = (dir / (f.name + ".gguf")).string();
    test::write_bytes(path, f.bytes);
    expect_cli_error({"info", path}, path, f.expect, f.name);
  }
}

TEST(BadFilesCli, SafetensorsErrorsNameTheFile) {
  ASSERT_FALSE(test::whale_bin().empty()) << "WHALE_BIN not set (run the tests through ctest)";
  const auto root = test::scratch_dir();
  for (const auto& f : test::crafted_safetensors_files()) {
    const auto dir = root / f.name;
    std::filesystem::create_directories(dir);
    test::write_text(dir / "config.json", test::tiny_qwen2_config_json());
    const auto path = (dir / "model.safetensors").string();
    test::write_bytes(path, f.bytes);
    expect_cli_error({"info", dir.string()}, path, f.expect, f.name);
  }
}

TEST(BadFilesCli, TruncatedPrefixesAndMissingFiles) {
  ASSERT_FALSE(test::whale_bin().empty()) << "WHALE_BIN not set (run the tests through ctest)";
  const auto dir = test::scratch_dir();
  const auto valid = test::small_valid_gguf();
  // A sample of prefixes (every prefix is covered in-process by gguf_test).
  for (std::size_t n : {std::size_t{0}, std::size_t{3}, std::size_t{23}, std::size_t{60},
                        valid.size() / 2, valid.size() - 1}) {
    const auto path = (dir / fmt::format("prefix{}.gguf", n)).string();
    test::write_bytes(path, {valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n)});
    expect_cli_error({"info", path}, path, {}, fmt::format("prefix {}", n));
  }
  const auto missing = (dir / "absent.gguf").string();
  expect_cli_error({"info", missing}, missing, {"no such file or folder"}, "missing file");

  // The valid hand-built file parses, but its architecture "test" is not a model whale runs.
  const auto arch = (dir / "arch.gguf").string();
  test::write_bytes(arch, valid);
  expect_cli_error({"info", arch}, arch, {"general.architecture 'test' is not supported"}, "arch");

  // HF folder problems: no config.json; bad config.json; a shard missing.
  const auto no_config = dir / "noconfig";
  std::filesystem::create_directories(no_config);
  expect_cli_error({"info", no_config.string()}, no_config.string(), {"has no config.json"}, "noconfig");
  const auto bad_config = dir / "badconfig";
  test::write_tiny_qwen2_folder(bad_config);
  test::write_text(bad_config / "config.json", R"({"model_type": "qwen2", "hidden_size": "x"})");
  expect_cli_error({"info", bad_config.string()}, bad_config.string(),
                   {"\"hidden_size\" must be an integer"}, "badconfig");
  const auto shards = dir / "shards";
  std::filesystem::create_directories(shards);
  test::write_text(shards / "config.json", test::tiny_qwen2_config_json());
  test::write_text(shards / "model.safetensors.index.json",
                   R"({"weight_map": {"a": "model-00001-of-00002.safetensors"}})");
  expect_cli_error({"info", shards.string()}, "model-00001-of-00002.safetensors",
                   {"is missing"}, "missing shard");
}

}  // namespace
}  // namespace whale
