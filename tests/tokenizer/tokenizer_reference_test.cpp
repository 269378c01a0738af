// tokenizer_reference_test.cpp — ids, decoding and streaming against Hugging Face `tokenizers`
// on the real DeepSeek-V3, DeepSeek-R1, Qwen (2.5/3) and Llama 3.1 vocabularies.
#include <gtest/gtest.h>

#include "test_env.h"

#include <nlohmann/json.hpp>

#include "tokenizer/detok_stream.h"
#include "tokenizer/reference_data.h"
#include "tokenizer/tokenizer.h"
#include "util/text_file.h"

namespace whale {
namespace {

using nlohmann::json;

struct Vocab {
  std::filesystem::path dir;
  json expected;
};

class TokenizerReference : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto dir = test::reference_dir(&why);
    if (!dir && whale::test::prerequisites_required()) FAIL() << why;
    if (!dir) GTEST_SKIP() << why;
    ASSERT_FALSE(dir->empty()) << why;
    vocab_dir_ = *dir / GetParam();
    auto text = read_text_file(vocab_dir_ / "expected.json");
    ASSERT_TRUE(text.ok()) << text.error().what();
    expected_ = json::parse(*text);
    auto tok = Tokenizer::from_hf_folder(vocab_dir_);
    ASSERT_TRUE(tok.ok()) << tok.error().what();
    tokenizer_ = std::make_unique<Tokenizer>(std::move(*tok));
  }

  // Compares ids for every case; prints the first few differences with their text.
  void expect_ids(const char* field, const EncodeOptions& options) {
    int failures = 0;
    for (const json& c : expected_.at("cases")) {
      const auto text = c.at("text").get<std::string>();
      const auto want = c.at(field).get<std::vector<std::int32_t>>();
      auto got = tokenizer_->encode(text, options);
      ASSERT_TRUE(got.ok()) << got.error().what();
      if (*got != want && ++failures <= 5) {
        ADD_FAILURE() << GetParam() << " " << field << " differ for text (" << text.size()
                      << " bytes) \"" << text.substr(0, 200) << "\"\n  want "
                      << json(want).dump().substr(0, 400) << "\n  got  "
                      << json(*got).dump().substr(0, 400);
      }
    }
    EXPECT_EQ(failures, 0) << "cases with different ids";
  }

  std::filesystem::path vocab_dir_;
  json expected_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

// One test per vocabulary and mode family: each test process loads the vocabulary once.
TEST_P(TokenizerReference, IdsMatch) {
  expect_ids("ids", EncodeOptions{false, true});                  // special tokens parsed
  expect_ids("ids_default", EncodeOptions{std::nullopt, true});   // BOS as the model says
  expect_ids("ids_no_special", EncodeOptions{false, false});      // split_special_tokens
}

TEST_P(TokenizerReference, DecodeAndStreamMatchReference) {
  for (const json& c : expected_.at("cases")) {
    const auto ids = c.at("ids").get<std::vector<std::int32_t>>();
    auto got = tokenizer_->decode(ids);
    ASSERT_TRUE(got.ok()) << got.error().what();
    EXPECT_EQ(*got, c.at("decoded").get<std::string>());
    // Byte-level BPE loses nothing; only Qwen's NFC normalizer may change the text.
    if (GetParam() != "qwen3" && GetParam() != "deepseek_r1_qwen") {
      EXPECT_EQ(*got, c.at("text").get<std::string>());
    }
    StreamDecoder stream(*tokenizer_);
    std::string joined;
    for (std::int32_t id : ids) {
      const std::string piece = stream.push(id);
      // Every emitted piece is valid UTF-8 on its own.
      for (std::size_t i = 0; i < piece.size();) {
        const auto b = static_cast<unsigned char>(piece[i]);
        const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        ASSERT_LE(i + n, piece.size()) << "piece ends inside a character";
        for (std::size_t k = 1; k < n; ++k)
          ASSERT_EQ(static_cast<unsigned char>(piece[i + k]) & 0xC0, 0x80);
        i += n;
      }
      joined += piece;
    }
    joined += stream.flush();
    EXPECT_EQ(joined, c.at("decoded").get<std::string>());
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, TokenizerReference,
                         ::testing::Values("deepseek_v3", "deepseek_r1", "qwen3",
                                           "deepseek_r1_qwen", "llama3_1", "whale_r1_tiny"));

}  // namespace
}  // namespace whale
