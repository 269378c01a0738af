// reasoning.cpp — streaming <think> splitter.
#include "chat/reasoning.h"

#include <algorithm>

namespace whale {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

// Length of the longest tail of `s` that is a proper prefix of `tag`.
std::size_t partial_tail(const std::string& s, std::string_view tag) {
  const std::size_t max_len = std::min(tag.size() - 1, s.size());
  for (std::size_t len = max_len; len > 0; --len)
    if (s.compare(s.size() - len, len, tag.substr(0, len)) == 0) return len;
  return 0;
}

}  // namespace

ReasoningSplitter::ReasoningSplitter(bool starts_in_thinking)
    : state_(starts_in_thinking ? State::kThinking : State::kStart), saw_think_(starts_in_thinking) {}

void ReasoningSplitter::emit(ReasoningChunk& out, std::string_view text) const {
  if (state_ == State::kThinking)
    out.thinking += text;
  else
    out.answer += text;
}

ReasoningChunk ReasoningSplitter::push(std::string_view text) {
  pending_ += text;
  ReasoningChunk out;
  for (;;) {
    if (state_ == State::kStart) {
      // Leading whitespace may precede <think>; anything else means no think section.
      const std::size_t first = pending_.find_first_not_of(" \t\r\n");
      if (first == std::string::npos) return out;  // only whitespace so far: wait
      if (pending_.compare(first, kOpen.size(), kOpen) == 0) {
        pending_.erase(0, first + kOpen.size());
        state_ = State::kThinking;
        saw_think_ = true;
        continue;
      }
      const std::string_view rest = std::string_view(pending_).substr(first);
      if (rest.size() < kOpen.size() && kOpen.substr(0, rest.size()) == rest) return out;  // "<thi"
      state_ = State::kAnswer;
      continue;
    }
    if (state_ == State::kThinking) {
      const std::size_t close = pending_.find(kClose);
      if (close != std::string::npos) {
        emit(out, std::string_view(pending_).substr(0, close));
        pending_.erase(0, close + kClose.size());
        state_ = State::kAnswer;
        continue;
      }
      const std::size_t hold = partial_tail(pending_, kClose);
      emit(out, std::string_view(pending_).substr(0, pending_.size() - hold));
      pending_.erase(0, pending_.size() - hold);
      return out;
    }
    emit(out, pending_);
    pending_.clear();
    return out;
  }
}

ReasoningChunk ReasoningSplitter::flush() {
  ReasoningChunk out;
  if (state_ == State::kStart) state_ = State::kAnswer;
  emit(out, pending_);
  pending_.clear();
  return out;
}

}  // namespace whale
