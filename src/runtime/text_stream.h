// text_stream.h — the path from generated token bytes to shown text, shared by generate() and
// the engine: UTF-8 assembly -> stop strings -> <think> splitter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/reasoning.h"
#include "runtime/utf8_stream.h"
#include "sampling/stop_strings.h"

namespace whale {

class TokenTextStream {
 public:
  TokenTextStream(std::vector<std::string> stops, bool starts_in_thinking)
      : stop_(std::move(stops)), split_(starts_in_thinking) {}

  // One token's raw bytes; returns what can be shown now.
  ReasoningChunk push(std::string_view bytes) { return split_.push(stop_.push(utf8_.push(bytes))); }
  // End of generation: everything held back.
  ReasoningChunk finish();

  bool stopped() const { return stop_.stopped(); }
  bool in_thinking() const { return split_.in_thinking(); }

 private:
  Utf8Stream utf8_;
  StopMatcher stop_;
  ReasoningSplitter split_;
};

// Appends b to a.
void append(ReasoningChunk& a, const ReasoningChunk& b);

}  // namespace whale
