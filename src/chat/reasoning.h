// reasoning.h — splits a model's streamed output into its thinking (<think> … </think>) and
// its answer, as DeepSeek-R1 writes them, piece by piece as the text arrives.
#pragma once

#include <string>
#include <string_view>

namespace whale {

struct ReasoningChunk {
  std::string thinking;  // text inside the think section
  std::string answer;    // text after it (or everything, for a model that does not think)
};

class ReasoningSplitter {
 public:
  // `starts_in_thinking`: the prompt already opened <think> (R1's template ends the generation
  // prompt with "<think>\n"), so output starts inside the think section.
  explicit ReasoningSplitter(bool starts_in_thinking = false);

  // Adds streamed text; returns what can be shown now. A partial tag ("</th") is held back
  // until it is known to be a tag or not.
  ReasoningChunk push(std::string_view text);
  // End of stream: releases anything held back.
  ReasoningChunk flush();

  bool in_thinking() const { return state_ == State::kThinking; }
  bool thinking_closed() const { return state_ == State::kAnswer && saw_think_; }

 private:
  enum class State { kStart, kThinking, kAnswer };
  void emit(ReasoningChunk& out, std::string_view text) const;

  State state_;
  bool saw_think_ = false;
  std::string pending_;
};

}  // namespace whale
