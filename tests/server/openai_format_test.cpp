// openai_format_test.cpp — response and chunk formatting from hand-written engine events:
// the answer's leading newlines after </think>, inline tags split across events, usage sums.
#include <gtest/gtest.h>

#include "server/openai_format.h"

namespace whale::server {
namespace {

EngineEvent event(std::string thinking, std::string answer, bool finished = false) {
  EngineEvent e;
  e.thinking = std::move(thinking);
  e.answer = std::move(answer);
  e.finished = finished;
  return e;
}

// (id and model stay empty: GCC 12 reports a false -Wrestrict for short literal assignments here.)
ResponseMeta chat_meta(ReasoningFormat f) {
  ResponseMeta m;
  m.reasoning = f;
  return m;
}

// Streams `events` and returns (reasoning, content) as a client would concatenate them.
std::pair<std::string, std::string> stream(const ResponseMeta& meta, const std::vector<EngineEvent>& events) {
  ChoiceState c;
  std::string reasoning, content;
  for (const EngineEvent& e : events) {
    auto chunk = stream_chunk(meta, 0, c, e);
    if (!chunk) continue;
    const auto& d = (*chunk)["choices"][0]["delta"];
    if (d.contains("reasoning_content")) reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("content")) content += d["content"].get<std::string>();
  }
  return {reasoning, content};
}

TEST(OpenAiFormat, NewlinesAfterThinkAreNotContent) {
  const std::vector<EngineEvent> events = {event("plan", ""), event("", "\n"), event("", "\n"), event("", "\nHi\n"),
                                           event("", "there", true)};
  const auto [reasoning, content] = stream(chat_meta(ReasoningFormat::kSeparate), events);
  EXPECT_EQ(reasoning, "plan");
  EXPECT_EQ(content, "Hi\nthere");
  std::vector<ChoiceState> choices(1);
  for (const auto& e : events) accumulate(choices[0], e);
  const OJson full = full_response(chat_meta(ReasoningFormat::kSeparate), choices);
  EXPECT_EQ(full["choices"][0]["message"]["content"], "Hi\nthere");
  EXPECT_EQ(full["choices"][0]["message"]["reasoning_content"], "plan");
  // Without thinking the answer is untouched; inline keeps the raw text between the tags.
  EXPECT_EQ(stream(chat_meta(ReasoningFormat::kSeparate), {event("", "\nA", true)}).second, "\nA");
  EXPECT_EQ(stream(chat_meta(ReasoningFormat::kInline), events).second, "<think>plan</think>\n\n\nHi\nthere");
}

TEST(OpenAiFormat, InlineThinkingUnclosedAtTheEndIsClosed) {
  const auto [reasoning, content] =
      stream(chat_meta(ReasoningFormat::kInline), {event("a", ""), event("b", ""), event("", "", true)});
  EXPECT_EQ(reasoning, "");
  EXPECT_EQ(content, "<think>ab</think>");
}

TEST(OpenAiFormat, UsageCountsThePromptOnceAndSumsChoices) {
  std::vector<ChoiceState> choices(2);
  choices[0].usage = {10, 4, 7, 3};
  choices[1].usage = {10, 4, 5, 0};
  const OJson u = usage_json(choices);
  EXPECT_EQ(u["prompt_tokens"], 10);
  EXPECT_EQ(u["completion_tokens"], 12);
  EXPECT_EQ(u["total_tokens"], 22);
  EXPECT_EQ(u["prompt_tokens_details"]["cached_tokens"], 4);
  EXPECT_EQ(u["completion_tokens_details"]["reasoning_tokens"], 3);
  EXPECT_EQ(finish_reason_text(FinishReason::kContext), "length");
  EXPECT_EQ(sse_event(OJson{{"a", "\xff"}}), "data: {\"a\":\"\xEF\xBF\xBD\"}\n\n");  // broken UTF-8 replaced
}

}  // namespace
}  // namespace whale::server
