// tokenizer_gguf_cli_test.cpp — the same vocabularies written as vocab-only GGUF files give the
// reference ids; `whale tokenize` and `whale chat-render` work from the command line.
#include <gtest/gtest.h>

#include "test_env.h"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "format/gguf_writer.h"
#include "tokenizer/reference_data.h"
#include "tokenizer/tokenizer.h"
#include "util/text_file.h"

namespace whale {
namespace {

using nlohmann::json;

struct GgufCase {
  const char* vocab;
  const char* pre;  // tokenizer.ggml.pre as llama.cpp's converter names it
};

// Builds GGUF tokenizer metadata from a tokenizer.json the way a converter would.
Metadata gguf_metadata(const json& tok, const json& cfg, const char* pre) {
  std::vector<std::string> tokens;
  for (const auto& [text, id] : tok["model"]["vocab"].items()) {
    const auto i = id.get<std::size_t>();
    if (tokens.size() <= i) tokens.resize(i + 1);
    tokens[i] = text;
  }
  for (const json& a : tok["added_tokens"]) {
    const auto i = a["id"].get<std::size_t>();
    if (tokens.size() <= i) tokens.resize(i + 1);
    tokens[i] = a["content"].get<std::string>();
  }
  std::vector<std::int32_t> types(tokens.size(), 1);  // normal
  for (const json& a : tok["added_tokens"])
    types[a["id"].get<std::size_t>()] = a["special"].get<bool>() ? 3 : 4;  // control / user-defined
  std::vector<std::string> merges;
  for (const json& m : tok["model"]["merges"])
    merges.push_back(m.is_string() ? m.get<std::string>()
                                   : m[0].get<std::string>() + " " + m[1].get<std::string>());
  auto id_of = [&](const json& t) -> std::int64_t {
    const std::string s = t.is_string() ? t.get<std::string>() : t.is_object() ? t["content"].get<std::string>() : "";
    for (std::size_t i = 0; i < tokens.size(); ++i)
      if (!s.empty() && tokens[i] == s) return static_cast<std::int64_t>(i);
    return -1;
  };
  Metadata md;
  md.set("general.architecture", meta_str("llama"));
  md.set("tokenizer.ggml.model", meta_str("gpt2"));
  md.set("tokenizer.ggml.pre", meta_str(pre));
  md.set("tokenizer.ggml.tokens", meta_str_array(tokens));
  md.set("tokenizer.ggml.token_type", meta_i32_array(types));
  md.set("tokenizer.ggml.merges", meta_str_array(merges));
  std::int64_t bos = id_of(cfg.value("bos_token", json()));
  if (bos < 0 && std::string(pre) == "llama-bpe") bos = 128000;  // from the post-processor
  if (bos >= 0) md.set("tokenizer.ggml.bos_token_id", meta_u32(static_cast<std::uint32_t>(bos)));
  const std::int64_t eos = id_of(cfg.value("eos_token", json()));
  if (eos >= 0) md.set("tokenizer.ggml.eos_token_id", meta_u32(static_cast<std::uint32_t>(eos)));
  const bool add_bos = cfg.contains("add_bos_token") ? cfg["add_bos_token"].get<bool>() : bos >= 0;
  md.set("tokenizer.ggml.add_bos_token", meta_bool(add_bos));
  if (cfg.contains("chat_template")) md.set("tokenizer.chat_template", meta_str(cfg["chat_template"].get<std::string>()));
  return md;
}

std::filesystem::path scratch() {
  const char* env = std::getenv("WHALE_TEST_TMP");
  std::filesystem::path p = env ? env : "build/test-tmp";
  std::filesystem::create_directories(p);
  return p;
}

class GgufTokenizer : public ::testing::TestWithParam<GgufCase> {};

TEST_P(GgufTokenizer, VocabOnlyGgufGivesReferenceIds) {
  std::string why;
  auto dir = test::reference_dir(&why);
  if (!dir && whale::test::prerequisites_required()) FAIL() << why;
  if (!dir) GTEST_SKIP() << why;
  ASSERT_FALSE(dir->empty()) << why;
  const auto vdir = *dir / GetParam().vocab;
  const json tok = json::parse(*read_text_file(vdir / "tokenizer.json"));
  const json cfg = json::parse(*read_text_file(vdir / "tokenizer_config.json"));
  const json expected = json::parse(*read_text_file(vdir / "expected.json"));
  const auto path = scratch() / fmt::format("vocab-{}.gguf", GetParam().vocab);
  GgufWriter writer(gguf_metadata(tok, cfg, GetParam().pre));
  auto written = writer.write(path);
  ASSERT_TRUE(written.ok()) << written.error().what();
  auto loaded = load_tokenizer(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().what();
  int failures = 0;
  for (const json& c : expected["cases"]) {
    const auto text = c["text"].get<std::string>();
    for (const auto& [field, options] :
         {std::pair{"ids", EncodeOptions{false, true}}, std::pair{"ids_default", EncodeOptions{std::nullopt, true}},
          std::pair{"ids_no_special", EncodeOptions{false, false}}}) {
      auto ids = loaded->encode(text, options);
      ASSERT_TRUE(ids.ok());
      if (*ids != c[field].get<std::vector<std::int32_t>>() && ++failures <= 5)
        ADD_FAILURE() << field << " differ for \"" << text.substr(0, 120) << "\"";
    }
  }
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(loaded->chat_template(), cfg.value("chat_template", ""));
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, GgufTokenizer,
                         ::testing::Values(GgufCase{"deepseek_r1", "deepseek-v3"},
                                           GgufCase{"qwen3", "qwen2"},
                                           GgufCase{"deepseek_r1_qwen", "deepseek-r1-qwen"},
                                           GgufCase{"llama3_1", "llama-bpe"}),
                         [](const auto& param_info) { return std::string(param_info.param.vocab); });

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST(WhaleTokenizeCli, TextJsonlDecodeAndChatRender) {
  std::string why;
  auto dir = test::reference_dir(&why);
  if (!dir && whale::test::prerequisites_required()) FAIL() << why;
  if (!dir) GTEST_SKIP() << why;
  ASSERT_FALSE(dir->empty()) << why;
  const char* bin = std::getenv("WHALE_BIN");
  ASSERT_NE(bin, nullptr) << "WHALE_BIN not set";
  const auto vdir = *dir / "deepseek_r1";
  const json expected = json::parse(*read_text_file(vdir / "expected.json"));
  const json& first = expected["cases"][9];  // "Hello world"
  ASSERT_EQ(first["text"], "Hello world");

  // --text: BOS by default (DeepSeek's add_bos_token), and --no-bos.
  EXPECT_EQ(json::parse(run(fmt::format("{} tokenize -m {} --text 'Hello world'", bin, vdir.string()))),
            first["ids_default"]);
  EXPECT_EQ(json::parse(run(fmt::format("{} tokenize -m {} --no-bos --text 'Hello world'", bin, vdir.string()))),
            first["ids"]);

  // --jsonl: one output line per input line, in order.
  const auto in = scratch() / "tokenize-in.jsonl";
  std::string lines;
  std::vector<json> want;
  for (std::size_t k = 0; k < 40; ++k) {
    const json& c = expected["cases"][k];
    lines += json{{"text", c["text"]}}.dump() + "\n";
    want.push_back(c["ids"]);
  }
  ASSERT_TRUE(write_text_file(in, lines).ok());
  const std::string out = run(fmt::format("{} tokenize -m {} --no-bos --jsonl {}", bin, vdir.string(), in.string()));
  std::size_t pos = 0, n = 0;
  for (std::size_t nl; (nl = out.find('\n', pos)) != std::string::npos; pos = nl + 1, ++n) {
    ASSERT_LT(n, want.size());
    EXPECT_EQ(json::parse(out.substr(pos, nl - pos))["ids"], want[n]) << "line " << n + 1;
  }
  EXPECT_EQ(n, want.size());

  // --decode prints the text exactly.
  EXPECT_EQ(run(fmt::format("{} tokenize -m {} --decode --text '{}'", bin, vdir.string(), first["ids"].dump())),
            "Hello world");

  // chat-render prints the reference rendering exactly.
  const json renders = json::parse(*read_text_file(*dir / "templates.json"));
  for (const json& r : renders) {
    if (r["template"] != "deepseek_r1" || r["conversation"] != 2 || !r["add_generation_prompt"].get<bool>()) continue;
    const auto msgs = scratch() / "chat-render-messages.json";
    ASSERT_TRUE(write_text_file(msgs, r["messages"].dump()).ok());
    EXPECT_EQ(run(fmt::format("{} chat-render -m {} --messages {} --add-generation-prompt", bin,
                              vdir.string(), msgs.string())),
              r["expected"].get<std::string>());
    // --chat-template overrides the model's template.
    const auto tmpl = scratch() / "override.jinja";
    ASSERT_TRUE(write_text_file(tmpl, "{{ messages|length }}").ok());
    EXPECT_EQ(run(fmt::format("{} chat-render -m {} --messages {} --chat-template {}", bin,
                              vdir.string(), msgs.string(), tmpl.string())),
              std::to_string(r["messages"].size()));
  }
}

}  // namespace
}  // namespace whale
