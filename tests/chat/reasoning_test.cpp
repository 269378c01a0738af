// reasoning_test.cpp — the <think> splitter on adversarial chunkings: every split of the
// stream into three pieces must give the same thinking and answer.
#include <gtest/gtest.h>

#include "chat/reasoning.h"

namespace whale {
namespace {

struct Split {
  std::string thinking, answer;
};

Split split_in_three(const std::string& text, std::size_t a, std::size_t b, bool starts_thinking) {
  ReasoningSplitter s(starts_thinking);
  Split out;
  for (const auto& piece : {text.substr(0, a), text.substr(a, b - a), text.substr(b)}) {
    auto c = s.push(piece);
    out.thinking += c.thinking;
    out.answer += c.answer;
  }
  auto c = s.flush();
  out.thinking += c.thinking;
  out.answer += c.answer;
  return out;
}

void check(const std::string& text, bool starts_thinking, const std::string& thinking,
           const std::string& answer) {
  for (std::size_t a = 0; a <= text.size(); ++a)
    for (std::size_t b = a; b <= text.size(); ++b) {
      Split s = split_in_three(text, a, b, starts_thinking);
      ASSERT_EQ(s.thinking, thinking) << "cuts " << a << "," << b;
      ASSERT_EQ(s.answer, answer) << "cuts " << a << "," << b;
    }
}

TEST(Reasoning, ModelOpensThink) { check("<think>2+2 is 4</think>The answer is 4.", false, "2+2 is 4", "The answer is 4."); }

TEST(Reasoning, TemplateOpenedThink) { check("a < b, so</think>\n\nb", true, "a < b, so", "\n\nb"); }

TEST(Reasoning, LessThanThatIsNotATag) { check("<think>x </thinking> <</think>ok", false, "x </thinking> <", "ok"); }

TEST(Reasoning, NoThinkSectionIsAllAnswer) { check("Hello <b>world</b>", false, "", "Hello <b>world</b>"); }

TEST(Reasoning, UnclosedThinkStaysThinking) { check("<think>still going </th", false, "still going </th", ""); }

TEST(Reasoning, LeadingWhitespaceBeforeThink) { check("\n<think>t</think>a", false, "t", "a"); }

}  // namespace
}  // namespace whale
