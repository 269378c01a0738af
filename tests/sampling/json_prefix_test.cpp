// json_prefix_test.cpp — the JSON-object prefix automaton: hand-checked documents (every prefix
// of a valid object accepted, complete only at its end; the first bad byte of invalid ones), and
// agreement with nlohmann::json's parser on thousands of seeded mutations of valid objects.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <random>

#include "sampling/json_prefix.h"

namespace whale {
namespace {

const std::vector<std::string> kValid = {
    "{}",
    "  {\"a\": 1}",
    "{\"a\":[1,2.5,-3e+2,0.0e-1,-0],\"b\":{\"c\":null,\"d\":true,\"e\":false}}",
    "{ \"k\" : \"v\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9x\" , \"n\" : [ ] , \"o\" : { } }",
    "{\"deep\":[[[{\"x\":[]}]],\"\"]}",
    "{\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac\"}",
    "{\"e\":1E5,\"f\":1.25E-3,\"z\":0}",
};

TEST(JsonPrefix, EveryPrefixOfAValidObjectIsAccepted) {
  for (const std::string& doc : kValid) {
    JsonPrefix j;
    for (std::size_t i = 0; i < doc.size(); ++i) {
      ASSERT_FALSE(j.complete()) << doc << " complete before byte " << i;
      ASSERT_TRUE(j.accepts(std::string_view(doc).substr(i, 1))) << doc << " byte " << i;
      ASSERT_TRUE(j.push(std::string_view(doc).substr(i, 1)));
    }
    EXPECT_TRUE(j.complete()) << doc;
    EXPECT_FALSE(j.accepts(" ")) << "nothing may follow the object";
    EXPECT_FALSE(j.accepts("{"));
  }
}

// (text, index of the first byte that must be refused), worked out by hand from RFC 8259.
TEST(JsonPrefix, RefusesTheFirstBadByte) {
  const std::vector<std::pair<std::string, std::size_t>> cases = {
      {"[1]", 0},              // the answer must be an object
      {"x", 0},
      {"{a", 1},               // keys are strings
      {"{\"a\" 1", 5},         // colon missing
      {"{\"a\":01}", 6},       // no leading zeros
      {"{\"a\":1.}", 7},       // digits after the dot
      {"{\"a\":-}", 6},
      {"{\"a\":1e}", 7},
      {"{\"a\":tru}", 8},
      {"{\"a\":nul1", 8},
      {"{\"a\":1,}", 7},       // no trailing comma
      {"{\"a\":[1,]}", 8},
      {"{\"a\":[}", 6},
      {"{\"a\":\"\\x\"}", 7},  // unknown escape
      {"{\"a\":\"\\u12g4\"}", 10},
      {"{\"a\":\"\x01\"}", 6},  // control character in a string
      {"{\"a\":1}}", 7},        // after the object: nothing
      {"{,", 1},
      {"{\"a\":1 2}", 7},
  };
  for (const auto& [text, bad] : cases) {
    JsonPrefix j;
    for (std::size_t i = 0; i < bad; ++i)
      ASSERT_TRUE(j.push(std::string_view(text).substr(i, 1))) << text << " byte " << i;
    EXPECT_FALSE(j.accepts(std::string_view(text).substr(bad, 1))) << text << " byte " << bad;
  }
}

TEST(JsonPrefix, AcceptsMultiByteTokens) {
  JsonPrefix j;
  EXPECT_TRUE(j.push("{\"answer"));
  EXPECT_TRUE(j.accepts("\": 42}"));
  EXPECT_FALSE(j.accepts("\": 42}}"));
  EXPECT_TRUE(j.push("\": 4"));
  EXPECT_TRUE(j.push("2}"));
  EXPECT_TRUE(j.complete());
}

// The reference: nlohmann::json's parser (an independent implementation) says the text is one
// JSON object; the automaton must accept every byte and be complete exactly then.
TEST(JsonPrefix, AgreesWithAParserOnMutations) {
  std::mt19937 rng(20260129);
  const std::string alphabet = "{}[]:,\" \\/.-+0123456789eEtrufalsn\x01\t\nabcxyz";
  int valid_seen = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s = kValid[rng() % kValid.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (s.size() + 1);
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), c); break;
        case 1: if (pos < s.size()) s.erase(pos, 1); break;
        default: if (pos < s.size()) s[pos] = c; break;
      }
    }
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
      continue;  // ASCII only: the automaton takes any byte >= 0x80 in strings, the parser checks UTF-8
    JsonPrefix j;
    const bool ours = j.push(s) && j.complete();
    bool ref = nlohmann::json::accept(s) && !s.empty() && s.back() == '}';
    if (ref) ref = nlohmann::json::parse(s).is_object();
    ASSERT_EQ(ours, ref) << "text: " << nlohmann::json(s).dump(-1, ' ', true);
    valid_seen += ref ? 1 : 0;
  }
  EXPECT_GT(valid_seen, 100);  // the mutations kept enough valid documents to mean something
}

}  // namespace
}  // namespace whale
