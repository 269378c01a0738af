// gguf_js_test.cpp — whale-written GGUFs read by an independent parser: Hugging Face's
// @huggingface/gguf (tests/gguf_js). Skipped unless `npm ci` has been run in tests/gguf_js.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_env.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "unit/test_files.h"
#include "unit/test_models.h"

namespace whale {
namespace {

using nlohmann::json;

const char* kReader = "tests/gguf_js/read_gguf.mjs";

// What the JS parser read from `path`, or a skip/failure.
bool read_with_js(const std::filesystem::path& path, json& out) {
  const auto dir = path.parent_path();
  const std::string cmd = fmt::format("node {} '{}' > '{}' 2> '{}'", kReader, path.string(),
                                      (dir / "js.json").string(), (dir / "js.err").string());
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream err(dir / "js.err");
    std::stringstream ss;
    ss << err.rdbuf();
    ADD_FAILURE() << "@huggingface/gguf could not read " << path << ":\n" << ss.str();
    return false;
  }
  std::ifstream in(dir / "js.json");
  out = json::parse(in, nullptr, false);
  return !out.is_discarded();
}

// Compares one whale value with the JS parser's plain value (arrays hold plain values).
void expect_value(const MetaValue& want, const json& got, const std::string& where) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          EXPECT_EQ(got, x) << where;
        } else if constexpr (std::is_same_v<T, bool>) {
          EXPECT_EQ(got, x) << where;
        } else if constexpr (std::is_same_v<T, MetaArray>) {
          ASSERT_TRUE(got.is_array()) << where;
          ASSERT_EQ(got.size(), x.items.size()) << where;
          for (std::size_t i = 0; i < x.items.size(); ++i)
            expect_value(x.items[i], got[i], fmt::format("{}[{}]", where, i));
        } else if constexpr (std::is_same_v<T, std::uint64_t> || std::is_same_v<T, std::int64_t>) {
          EXPECT_EQ(got, std::to_string(x)) << where;  // bigint, spelled as a string
        } else if constexpr (std::is_floating_point_v<T>) {
          if (std::isnan(x)) EXPECT_EQ(got, "NaN") << where;
          else if (std::isinf(x)) EXPECT_EQ(got, x > 0 ? "Infinity" : "-Infinity") << where;
          else EXPECT_EQ(got.get<double>(), static_cast<double>(x)) << where;
        } else {
          EXPECT_EQ(got.get<std::int64_t>(), static_cast<std::int64_t>(x)) << where;
        }
      },
      want.v);
}

void expect_same_as_whale(const std::filesystem::path& path) {
  auto g = open_gguf(path);
  ASSERT_TRUE(g.ok()) << g.error().what();
  json js;
  ASSERT_TRUE(read_with_js(path, js));
  const json& meta = js["metadata"];
  EXPECT_EQ(meta["version"]["value"], 3);
  EXPECT_EQ(meta["tensor_count"]["value"], std::to_string(g->contents.tensors.size()));
  EXPECT_EQ(meta["kv_count"]["value"], std::to_string(g->contents.metadata.size()));
  for (const auto& [key, value] : g->contents.metadata.entries()) {
    ASSERT_TRUE(meta.contains(key)) << key;
    EXPECT_EQ(meta[key]["type"], static_cast<int>(value.type())) << key;
    if (const auto* arr = std::get_if<MetaArray>(&value.v)) {
      EXPECT_EQ(meta[key]["subType"], static_cast<int>(arr->elem_type)) << key;
    }
    expect_value(value, meta[key]["value"], key);
  }
  const json& tensors = js["tensors"];
  ASSERT_EQ(tensors.size(), g->contents.tensors.size());
  EXPECT_EQ(js["tensorDataOffset"], std::to_string(g->contents.data_offset));
  const std::byte* data = g->file.bytes().data() + g->contents.data_offset;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorRecord& t = g->contents.tensors[i];
    EXPECT_EQ(tensors[i]["name"], t.name);
    EXPECT_EQ(tensors[i]["dtype"], static_cast<int>(t.dtype)) << t.name;
    ASSERT_EQ(tensors[i]["shape"].size(), t.shape.size()) << t.name;
    for (std::size_t d = 0; d < t.shape.size(); ++d)  // the file stores innermost first
      EXPECT_EQ(tensors[i]["shape"][d], std::to_string(t.shape[t.shape.size() - 1 - d])) << t.name;
    EXPECT_EQ(tensors[i]["offset"], std::to_string(t.bytes.data() - data)) << t.name;
  }
}

class GgufJs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("tests/gguf_js/node_modules/@huggingface/gguf")) {
      if (whale::test::prerequisites_required()) FAIL() << "tests/gguf_js/node_modules is missing (npm ci)";
      GTEST_SKIP() << "run `npm ci` in tests/gguf_js to enable the @huggingface/gguf checks";
    }
    if (std::system("node --version > /dev/null 2>&1") != 0) {
      if (whale::test::prerequisites_required()) FAIL() << "node not found";
      GTEST_SKIP() << "node not found";
    }
  }
};

TEST_F(GgufJs, TinyDeepSeek2) {
  const auto path = test::scratch_dir() / "tiny-ds.gguf";
  test::write_tiny_deepseek2_gguf(path);
  expect_same_as_whale(path);
}

TEST_F(GgufJs, EveryValueTypeAndAlignment64) {
  Metadata m;
  auto arr = [](MetaType t, std::vector<MetaValue> items) { return MetaValue{MetaArray{t, std::move(items)}}; };
  m.set("general.architecture", meta_str("test"));
  m.set("general.alignment", meta_u32(64));
  m.set("v.u8", MetaValue{std::uint8_t{255}});
  m.set("v.i8", MetaValue{std::int8_t{-128}});
  m.set("v.u16", MetaValue{std::uint16_t{65535}});
  m.set("v.i16", MetaValue{std::int16_t{-32768}});
  m.set("v.u32", MetaValue{std::uint32_t{4294967295u}});
  m.set("v.i32", MetaValue{std::int32_t{-2147483647 - 1}});
  m.set("v.f32", MetaValue{0.1f});
  m.set("v.f32_inf", MetaValue{-INFINITY});
  m.set("v.bool", MetaValue{true});
  m.set("v.string", meta_str("h\xc3\xa9llo"));
  m.set("v.u64", MetaValue{std::uint64_t{18446744073709551615ull}});
  m.set("v.i64", MetaValue{std::int64_t{-9223372036854775807LL - 1}});
  m.set("v.f64", MetaValue{1e-300});
  m.set("a.u8", arr(MetaType::kU8, {MetaValue{std::uint8_t{1}}, MetaValue{std::uint8_t{2}}}));
  m.set("a.i32", meta_i32_array({-1, 0, 1}));
  m.set("a.f32", meta_f32_array({0.5f, NAN}));
  m.set("a.bool", arr(MetaType::kBool, {MetaValue{false}, MetaValue{true}}));
  m.set("a.string", meta_str_array({"<s>", "", "\xe2\x96\x81the"}));
  m.set("a.u64", arr(MetaType::kU64, {MetaValue{std::uint64_t{1} << 40}}));
  m.set("a.empty", arr(MetaType::kI16, {}));
  GgufWriter w(m);
  std::vector<std::byte> q4k(2 * 144, std::byte{7}), f16(6, std::byte{0}), i8(5, std::byte{1});
  ASSERT_TRUE(w.add_tensor("q", DType::kQ4_K, {2, 256}, q4k).ok());
  ASSERT_TRUE(w.add_tensor("h", DType::kF16, {3}, f16).ok());
  ASSERT_TRUE(w.add_tensor("b", DType::kI8, {5, 1, 1}, i8).ok());
  const auto path = test::scratch_dir() / "types.gguf";
  ASSERT_TRUE(w.write(path).ok());
  expect_same_as_whale(path);
}

}  // namespace
}  // namespace whale
