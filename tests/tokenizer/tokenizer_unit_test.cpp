// tokenizer_unit_test.cpp — hand-worked checks that need no npm packages: BPE merge order,
// added-token flags, UTF-8 repair and streaming on every split of a multi-byte character.
#include <gtest/gtest.h>

#include "tokenizer/detok_stream.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

// Vocabulary a=0 b=1 c=2 Ġ(space)=3 ab=4 abc=5 Ġa=6 é bytes (Ã=7 ©=8), <x>=9 (added, special,
// lstrip+rstrip), <u>=10 (added, not special).
constexpr const char* kTinyTokenizer = R"({
  "added_tokens": [
    {"id": 9, "content": "<x>", "special": true, "normalized": false, "lstrip": true, "rstrip": true, "single_word": false},
    {"id": 10, "content": "<u>", "special": false, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "Ġ": 3, "ab": 4, "abc": 5, "Ġa": 6, "Ã": 7, "©": 8},
            "merges": ["a b", "ab c", "Ġ a"]}})";

Tokenizer tiny() {
  auto t = Tokenizer::from_hf_json(kTinyTokenizer, "");
  EXPECT_TRUE(t.ok()) << t.error().what();
  return std::move(*t);
}

std::vector<std::int32_t> ids(const Tokenizer& t, std::string_view s, bool special = true) {
  auto r = t.encode(s, EncodeOptions{false, special});
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<std::int32_t>{};
}

TEST(Bpe, MergesByRankNotByPosition) {
  const Tokenizer t = tiny();
  // "abc" -> a b c -> ab c -> abc. " ab": (a,b) has rank 0 < (Ġ,a) rank 2, so Ġ stays alone.
  EXPECT_EQ(ids(t, "abc ab"), (std::vector<std::int32_t>{5, 3, 4}));
  EXPECT_EQ(ids(t, " a"), (std::vector<std::int32_t>{6}));
  EXPECT_EQ(ids(t, ""), (std::vector<std::int32_t>{}));
}

TEST(Bpe, LongWordIsNotQuadraticAndCorrect) {
  const Tokenizer t = tiny();
  std::string word;
  for (int k = 0; k < 20000; ++k) word += "abc";
  const auto got = ids(t, word);
  ASSERT_EQ(got.size(), 20000u);
  for (std::int32_t id : got) ASSERT_EQ(id, 5);
}

TEST(AddedTokens, SpecialFlagLstripRstripAndSplitSpecial) {
  const Tokenizer t = tiny();
  // lstrip/rstrip: the spaces around <x> belong to the token.
  EXPECT_EQ(ids(t, "a <x> b"), (std::vector<std::int32_t>{0, 9, 1}));
  // Special parsing off: <x> is text (its bytes '<', 'x', '>' have no tokens here and drop out),
  // while the non-special <u> is still matched.
  EXPECT_EQ(ids(t, "a<u>b", false), (std::vector<std::int32_t>{0, 10, 1}));
  EXPECT_EQ(ids(t, "a<x>", false), (std::vector<std::int32_t>{0}));
}

TEST(Decode, ByteLevelAndAddedTokens) {
  const Tokenizer t = tiny();
  auto d = t.decode(std::vector<std::int32_t>{5, 3, 4, 9, 7, 8});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "abc ab<x>\xc3\xa9");  // Ã© are the byte-level spellings of é's bytes
  auto lone = t.decode(std::vector<std::int32_t>{7});  // half of é: repaired only at the end
  ASSERT_TRUE(lone.ok());
  EXPECT_EQ(*lone, "\xef\xbf\xbd");
  EXPECT_FALSE(t.decode(std::vector<std::int32_t>{99}).ok());
}

TEST(Utf8, SanitizeReplacesMaximalSubparts) {
  EXPECT_EQ(utf8_sanitize("ok"), "ok");
  EXPECT_EQ(utf8_sanitize("\xe2\x82"), "\xef\xbf\xbd");              // truncated 3-byte: one
  EXPECT_EQ(utf8_sanitize("\xff\xfe"), "\xef\xbf\xbd\xef\xbf\xbd");  // two invalid bytes: two
  EXPECT_EQ(utf8_sanitize("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(utf8_sanitize("a\xf0\x9f\x98\x80" "b"), "a\xf0\x9f\x98\x80" "b");
}

TEST(StreamDecoder, HoldsBackSplitCharactersAtEveryBoundary) {
  const Tokenizer t = tiny();
  const std::string text = "x\xf0\x9f\x98\x80y\xe4\xbd\xa0";  // x😀y你
  for (std::size_t cut1 = 0; cut1 <= text.size(); ++cut1) {
    for (std::size_t cut2 = cut1; cut2 <= text.size(); ++cut2) {
      StreamDecoder s(t);
      const std::string a = s.push_bytes(text.substr(0, cut1));
      const std::string b = s.push_bytes(text.substr(cut1, cut2 - cut1));
      const std::string c = s.push_bytes(text.substr(cut2));
      EXPECT_EQ(utf8_sanitize(a), a);
      EXPECT_EQ(utf8_sanitize(b), b);
      EXPECT_EQ(a + b + c + s.flush(), text) << cut1 << "," << cut2;
    }
  }
  StreamDecoder s(t);
  EXPECT_EQ(s.push_bytes("\xe4\xbd"), "");
  EXPECT_EQ(s.flush(), "\xef\xbf\xbd");  // an unfinished character becomes U+FFFD at the end
  EXPECT_EQ(s.push_bytes("\xff" "a"), "\xef\xbf\xbd" "a");  // never-valid bytes need no waiting
}

TEST(Encode, InvalidUtf8InputIsEncodedByteForByte) {
  const Tokenizer t = tiny();
  EXPECT_EQ(ids(t, "a\xff" "b"), (std::vector<std::int32_t>{0, 1}));  // 0xFF has no token here
}

}  // namespace
}  // namespace whale
