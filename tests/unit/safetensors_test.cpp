// safetensors_test.cpp — single files, sharded folders, every dtype, and shard errors.
#include "format/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "data/bad/crafted.h"
#include "format/model_files.h"
#include "unit/test_files.h"
#include "unit/test_models.h"

namespace whale {
namespace {

using test::StTensor;

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

TEST(Safetensors, ParsesHandBuiltFile) {
  const auto bytes = test::small_valid_safetensors();
  auto st = parse_safetensors(bytes);
  ASSERT_TRUE(st.ok()) << st.error().what();
  ASSERT_EQ(st->tensors.size(), 2u);
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const std::byte* data = bytes.data() + 8 + header_len;
  for (const auto& t : st->tensors) {
    if (t.name == "w") {
      EXPECT_EQ(t.dtype, DType::kF32);
      EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, 2}));
      EXPECT_EQ(t.bytes.data(), data);  // zero copy
      EXPECT_EQ(t.bytes.size(), 16u);
    } else {
      EXPECT_EQ(t.name, "v");
      EXPECT_EQ(t.dtype, DType::kI8);
      EXPECT_EQ(t.bytes.data(), data + 16);
      EXPECT_EQ(t.bytes.size(), 3u);
    }
  }
}

TEST(Safetensors, EveryStrictPrefixIsAnError) {
  const auto full = test::small_valid_safetensors();
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = parse_safetensors(std::span<const std::byte>(full.data(), n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes parsed";
  }
}

TEST(Safetensors, EveryDtypeWithMetadataAndEmptyTensor) {
  struct Case { const char* name; DType dtype; std::size_t elem; };
  const Case cases[] = {{"F32", DType::kF32, 4}, {"F16", DType::kF16, 2},
                        {"BF16", DType::kBF16, 2}, {"F8_E4M3", DType::kF8_E4M3, 1},
                        {"I8", DType::kI8, 1},   {"I32", DType::kI32, 4},
                        {"I64", DType::kI64, 8}, {"U8", DType::kU8, 1},
                        {"F64", DType::kF64, 8}, {"I16", DType::kI16, 2},
                        {"F8_E5M2", DType::kF8_E5M2, 1}, {"BOOL", DType::kBool, 1}};
  std::vector<StTensor> tensors;
  for (const auto& c : cases) tensors.push_back({std::string("t_") + c.name, c.name, {3, 5}, c.elem});
  tensors.push_back({"scalar", "F32", {}, 4});
  tensors.push_back({"empty", "F32", {0, 7}, 4});
  const auto bytes = test::make_safetensors(tensors, R"({"format": "pt", "note": "x"})");
  auto st = parse_safetensors(bytes);
  ASSERT_TRUE(st.ok()) << st.error().what();
  EXPECT_EQ(st->metadata.at("format"), "pt");
  EXPECT_EQ(st->metadata.at("note"), "x");
  ASSERT_EQ(st->tensors.size(), tensors.size());
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const std::byte* data = bytes.data() + 8 + header_len;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& want = tensors[i];
    const TensorRecord* got = nullptr;
    for (const auto& t : st->tensors)
      if (t.name == want.name) got = &t;
    ASSERT_NE(got, nullptr) << want.name;
    std::size_t n = want.elem_bytes;
    for (auto d : want.shape) n *= static_cast<std::size_t>(d);
    EXPECT_EQ(got->shape, want.shape) << want.name;
    EXPECT_EQ(got->bytes.size(), n) << want.name;
    if (n > 0) {
      EXPECT_EQ(got->bytes.data(), data + offset) << want.name;
    }
    if (i < std::size(cases)) {
      EXPECT_EQ(got->dtype, cases[i].dtype) << want.name;
    }
    for (std::size_t k = 0; k < n; ++k)
      ASSERT_EQ(got->bytes[k], static_cast<std::byte>(((i + 1) * 17 + k) & 0xff)) << want.name;
    offset += n;
  }
}

TEST(Safetensors, OpensSingleFileByPathOrFolder) {
  const auto dir = test::scratch_dir();
  test::write_bytes(dir / "model.safetensors", test::small_valid_safetensors());
  for (const auto& p : {dir, dir / "model.safetensors"}) {
    auto set = open_safetensors(p);
    ASSERT_TRUE(set.ok()) << set.error().what();
    EXPECT_EQ(set->files.size(), 1u);
    ASSERT_NE(set->tensors.find("w"), nullptr);
    EXPECT_EQ(set->tensors.find("w")->bytes.data() + 16, set->tensors.find("v")->bytes.data());
  }
  const auto empty = test::scratch_dir() / "sub";
  std::filesystem::create_directories(empty);
  auto none = open_safetensors(empty);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(contains(none.error().what(), "holds neither model.safetensors nor"));
}

const char* kIndex = R"({
  "metadata": {"total_size": 60},
  "weight_map": {
    "a": "model-00001-of-00002.safetensors",
    "b": "model-00001-of-00002.safetensors",
    "c": "model-00002-of-00002.safetensors"
  }
})";

void write_shards(const std::filesystem::path& dir) {
  test::write_text(dir / "model.safetensors.index.json", kIndex);
  test::write_bytes(dir / "model-00001-of-00002.safetensors",
                    test::make_safetensors({{"a", "F32", {2, 3}, 4}, {"b", "BF16", {4}, 2}}));
  test::write_bytes(dir / "model-00002-of-00002.safetensors",
                    test::make_safetensors({{"c", "I64", {2}, 8}}));
}

TEST(Safetensors, ShardedFolderWithIndex) {
  const auto dir = test::scratch_dir();
  write_shards(dir);
  for (const auto& p : {dir, dir / "model.safetensors.index.json"}) {
    auto set = open_safetensors(p);
    ASSERT_TRUE(set.ok()) << set.error().what();
    ASSERT_EQ(set->files.size(), 2u);
    ASSERT_EQ(set->tensors.size(), 3u);
    const TensorRecord* a = set->tensors.find("a");
    const TensorRecord* c = set->tensors.find("c");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(a->file_index, 0u);
    EXPECT_EQ(c->file_index, 1u);
    EXPECT_EQ(c->dtype, DType::kI64);
    EXPECT_EQ(set->files[0].path().filename(), "model-00001-of-00002.safetensors");
    const auto file = set->files[1].bytes();
    EXPECT_EQ(c->bytes.data() + c->bytes.size(), file.data() + file.size());
  }
}

TEST(Safetensors, MissingShardNamesTheFile) {
  const auto dir = test::scratch_dir();
  write_shards(dir);
  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  auto set = open_safetensors(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(contains(set.error().what(), "model-00002-of-00002.safetensors is missing"));
  EXPECT_TRUE(contains(set.error().what(), "'c'"));
  // The same through open_model_files, as `whale info` uses it.
  test::write_text(dir / "config.json", test::tiny_qwen2_config_json());
  auto mf = open_model_files(dir);
  ASSERT_FALSE(mf.ok());
  EXPECT_TRUE(contains(mf.error().what(), "model-00002-of-00002.safetensors is missing"));
}

TEST(Safetensors, TensorListedInIndexButAbsent) {
  const auto dir = test::scratch_dir();
  write_shards(dir);
  test::write_bytes(dir / "model-00002-of-00002.safetensors",
                    test::make_safetensors({{"not_c", "I64", {2}, 8}}));
  auto set = open_safetensors(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(contains(set.error().what(), "model-00002-of-00002.safetensors"));
  EXPECT_TRUE(contains(set.error().what(), "tensor 'c' is listed in the index but not in this shard"));
}

TEST(Safetensors, DuplicateAcrossShardsAndBadIndexes) {
  const auto dir = test::scratch_dir();
  write_shards(dir);
  test::write_bytes(dir / "model-00002-of-00002.safetensors",
                    test::make_safetensors({{"c", "I64", {2}, 8}, {"a", "F32", {1}, 4}}));
  auto dup = open_safetensors(dir);
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(contains(dup.error().what(), "duplicate tensor name 'a'"));

  struct Bad { const char* index; const char* expect; };
  const Bad bad[] = {
      {"not json", "not a valid JSON object"},
      {"[1]", "not a valid JSON object"},
      {R"({"metadata": {}})", "missing \"weight_map\" object"},
      {R"({"weight_map": {"a": 5}})", "weight_map entry 'a' is not a file name"},
      {R"({"weight_map": {"a": "../x.safetensors"}})", "leaves the folder"},
      {R"({"weight_map": {"a": "/etc/x.safetensors"}})", "leaves the folder"},
  };
  for (const auto& b : bad) {
    test::write_text(dir / "model.safetensors.index.json", b.index);
    auto r = open_safetensors(dir);
    ASSERT_FALSE(r.ok()) << b.index;
    EXPECT_TRUE(contains(r.error().what(), b.expect)) << r.error().what();
    EXPECT_TRUE(contains(r.error().what(), "model.safetensors.index.json")) << r.error().what();
  }
}

TEST(Safetensors, BadShardNamesTheShard) {
  const auto dir = test::scratch_dir();
  write_shards(dir);
  test::write_bytes(dir / "model-00001-of-00002.safetensors", {std::byte{1}, std::byte{2}});
  auto set = open_safetensors(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(contains(set.error().what(), "model-00001-of-00002.safetensors: unexpected end of data"));
}

}  // namespace
}  // namespace whale
