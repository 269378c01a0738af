// openai_format.h — engine events to OpenAI response JSON: whole responses, stream chunks,
// usage and logprobs, for chat and text completions, with the thinking placed as the
// request's ReasoningFormat says.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "server/openai_types.h"

namespace whale::server {

using OJson = nlohmann::ordered_json;

// Shared by every choice of one response.
struct ResponseMeta {
  std::string id;            // "chatcmpl-…" / "cmpl-…"
  std::int64_t created = 0;  // unix seconds
  std::string model;
  Endpoint endpoint = Endpoint::kChat;
  ReasoningFormat reasoning = ReasoningFormat::kSeparate;
  bool logprobs = false;
  bool starts_in_thinking = false;  // completions: the prompt opened <think> itself
  std::function<std::string(std::int32_t)> token_bytes;  // for top_logprobs entries
};

// One choice's output so far. Not thread-safe: the HTTP thread owns it.
struct ChoiceState {
  std::string thinking;
  std::string answer;
  std::vector<TokenLogprob> logprobs;
  bool finished = false;
  FinishReason finish = FinishReason::kStop;
  EngineUsage usage;
  // Streaming: what has been sent.
  bool sent_role = false;
  bool inline_open = false;    // "<think>" sent, "</think>" not yet
  bool inline_closed = false;
  bool answer_begun = false;   // separate/none: the newlines after </think> are not content
};

// "stop" / "length" (a full context is a length limit too) / "cancelled".
std::string finish_reason_text(FinishReason r);

// Adds an event to the choice's accumulated output (non-streaming).
void accumulate(ChoiceState& choice, const EngineEvent& event);

// The whole response once every choice finished. Usage counts the prompt once (every choice
// shares it) and sums the completions.
OJson full_response(const ResponseMeta& meta, const std::vector<ChoiceState>& choices);

// The stream chunk for one event of choice `index`, or nullopt when it carries nothing.
// Updates the choice's streaming state.
std::optional<OJson> stream_chunk(const ResponseMeta& meta, std::int32_t index, ChoiceState& choice,
                                  const EngineEvent& event);

// The last chunk when stream_options.include_usage is set: empty choices plus usage.
OJson usage_chunk(const ResponseMeta& meta, const std::vector<ChoiceState>& choices);

OJson usage_json(const std::vector<ChoiceState>& choices);

// One SSE event: "data: <json>\n\n".
std::string sse_event(const OJson& j);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

}  // namespace whale::server
