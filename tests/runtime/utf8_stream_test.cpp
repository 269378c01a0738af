// utf8_stream_test.cpp — characters split over tokens are never emitted in halves; invalid
// bytes become U+FFFD.
#include <gtest/gtest.h>

#include "runtime/utf8_stream.h"

namespace whale {
namespace {

// Every split of the byte string into single bytes and pairs gives the same text, and no
// chunk returned by push() ever ends inside a character.
TEST(Utf8Stream, ByteByByteNeverSplitsCharacters) {
  const std::string text = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x90\xB3z";  // a é 中 🐳 z
  Utf8Stream s;
  std::string out;
  std::vector<std::string> chunks;
  for (char c : text) {
    chunks.push_back(s.push(std::string_view(&c, 1)));
    out += chunks.back();
  }
  out += s.flush();
  EXPECT_EQ(out, text);
  // After 'a' (1 byte) the é arrives in two bytes: the first push of its lead returns nothing.
  EXPECT_EQ(chunks[1], "");
  EXPECT_EQ(chunks[2], "\xC3\xA9");
  EXPECT_EQ(chunks[6], "");  // first byte of the whale
  EXPECT_EQ(chunks[9], "\xF0\x9F\x90\xB3");
}

TEST(Utf8Stream, InvalidBytesBecomeReplacement) {
  Utf8Stream s;
  EXPECT_EQ(s.push("x\xFFy"), "x\xEF\xBF\xBDy");
  EXPECT_EQ(s.push("\xC3("), "\xEF\xBF\xBD(");        // lead followed by a non-continuation
  EXPECT_EQ(s.push("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(Utf8Stream, IncompleteTailReplacedOnlyAtTheEnd) {
  Utf8Stream s;
  EXPECT_EQ(s.push("ok\xE4\xB8"), "ok");
  EXPECT_EQ(s.flush(), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace whale
