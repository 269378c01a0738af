// completions.h — one OpenAI completion request from body to response: parse, render the chat
// template, tokenize, check the context, submit n engine requests, then either collect the
// whole answer or stream it as server-sent events. Independent of the HTTP library: the
// streaming side writes through a callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/engine.h"
#include "server/event_channel.h"
#include "server/openai_format.h"
#include "server/openai_types.h"

namespace whale::server {

struct PreparedRequest {
  ApiRequest api;
  std::vector<std::int32_t> prompt;  // rendered and tokenized
  ResponseMeta meta;
};

// Parses `body` and turns it into prompt tokens. Errors: 400 (naming the field, or the prompt
// and context sizes), 404 (model).
std::optional<ApiError> prepare_request(const Engine& engine, const ParseContext& ctx,
                                        std::string_view body, Endpoint endpoint, PreparedRequest& out);

// The n engine requests of one HTTP request, in flight. Cancels whatever is still running when
// destroyed, so a handler that returns early (client gone, exception) frees its slots.
class ActiveResponse {
 public:
  // Submits every choice; on failure cancels those already queued and returns the error
  // (429 with Retry-After when the queue is full).
  static std::variant<std::unique_ptr<ActiveResponse>, ApiError> start(Engine& engine,
                                                                        PreparedRequest request);
  ~ActiveResponse();
  ActiveResponse(const ActiveResponse&) = delete;
  ActiveResponse& operator=(const ActiveResponse&) = delete;

  // Non-streaming: blocks until every choice finished. A cancelled choice (server shutdown)
  // gives 503.
  std::variant<OJson, ApiError> collect();

  // Streaming: waits up to `wait` for events and writes their SSE chunks (plus a keep-alive
  // comment after `keepalive` of silence). Returns false when the stream is complete or a
  // write failed (the client went away: every choice is cancelled).
  bool pump(const std::function<bool(std::string_view)>& write, std::chrono::milliseconds wait,
            std::chrono::milliseconds keepalive = std::chrono::seconds(5));

  // Cancels every choice still running; safe to call more than once.
  void cancel();

 private:
  ActiveResponse(Engine& engine, PreparedRequest request);

  Engine& engine_;
  PreparedRequest request_;
  std::shared_ptr<EventChannel> channel_;
  std::vector<RequestId> ids_;
  std::vector<ChoiceState> choices_;
  bool cancelled_ = false;   // by the server (a shutdown) rather than finished
  bool complete_ = false;    // every final event seen ([DONE] written when streaming)
  std::chrono::steady_clock::time_point last_write_ = std::chrono::steady_clock::now();
};

}  // namespace whale::server
