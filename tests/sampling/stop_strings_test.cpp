// stop_strings_test.cpp — stop strings found across every chunking of the stream, never shown.
#include <gtest/gtest.h>

#include "sampling/stop_strings.h"

namespace whale {
namespace {

// Feeds `text` cut at every pair of positions and checks the visible output.
void check_all_chunkings(const std::string& text, const std::vector<std::string>& stops,
                         const std::string& expected_visible, bool expect_stop) {
  for (std::size_t a = 0; a <= text.size(); ++a) {
    for (std::size_t b = a; b <= text.size(); ++b) {
      StopMatcher m(stops);
      std::string shown = m.push(text.substr(0, a));
      shown += m.push(text.substr(a, b - a));
      shown += m.push(text.substr(b));
      shown += m.flush();
      ASSERT_EQ(shown, expected_visible) << "cuts at " << a << ", " << b;
      ASSERT_EQ(m.stopped(), expect_stop);
    }
  }
}

TEST(StopMatcher, StopsAcrossBoundaries) {
  check_all_chunkings("The answer is 42.\nUser: next", {"\nUser:"}, "The answer is 42.", true);
}

TEST(StopMatcher, PartialMatchIsReleasedAtTheEnd) {
  check_all_chunkings("ends with \nUse", {"\nUser:"}, "ends with \nUse", false);
}

TEST(StopMatcher, EarliestOfSeveralWins) {
  check_all_chunkings("a STOP b END", {"END", "STOP"}, "a ", true);
}

TEST(StopMatcher, HoldsBackOnlyWhatCouldMatch) {
  StopMatcher m({"###"});
  EXPECT_EQ(m.push("abc#"), "abc");
  EXPECT_EQ(m.push("x"), "#x");
  EXPECT_FALSE(m.stopped());
}

}  // namespace
}  // namespace whale
