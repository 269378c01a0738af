// openai_types.h — OpenAI chat / text completion requests parsed from JSON into what the engine
// runs. ALL request validation lives here: every rejected field is named in the error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "server/api_error.h"

namespace whale::server {

enum class Endpoint { kChat, kCompletion };

// Where the model's thinking goes in a chat answer.
enum class ReasoningFormat {
  kSeparate,  // DeepSeek's API: `reasoning_content` beside `content` (the default)
  kInline,    // in `content`, wrapped in <think>…</think>
  kNone,      // dropped (still counted in usage.reasoning_tokens)
};
std::optional<ReasoningFormat> parse_reasoning_format(std::string_view name);

// What the server knows when it parses a request.
struct ParseContext {
  std::string model_name;                 // the one model served (as /v1/models lists it)
  std::int64_t vocab_size = 0;            // for logit_bias token ids
  SamplingParams defaults;                // the model's recommended sampling
  ReasoningFormat reasoning = ReasoningFormat::kSeparate;  // the server's --reasoning-format
};

// Limits of the API (OpenAI's own, where it documents one).
inline constexpr int kMaxChoices = 16;       // n
inline constexpr int kMaxStopStrings = 4;    // stop
inline constexpr int kMaxTopLogprobs = 20;   // chat top_logprobs
inline constexpr int kMaxCompletionLogprobs = 5;  // completions logprobs
inline constexpr int kMaxJsonDepth = 64;     // nesting accepted in a request body

struct ApiRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;
  nlohmann::ordered_json messages;  // chat: [{role, content: string}], prior reasoning dropped
  std::string prompt;               // completions
  EngineRequest engine;             // sampling, stop, logprobs, json_object (prompt left empty)
  bool max_tokens_given = false;    // else the rest of the context
  std::int32_t n = 1;               // choices; request i runs with seed + i
  bool seed_given = false;
  bool stream = false;
  bool include_usage = false;       // stream_options.include_usage
  bool logprobs = false;
  ReasoningFormat reasoning = ReasoningFormat::kSeparate;
};

// Parses and validates a request body for `endpoint`. On failure returns the error to send
// (400 naming the field, 404 for an unknown model) and leaves `out` unspecified.
std::optional<ApiError> parse_request(std::string_view body, Endpoint endpoint,
                                      const ParseContext& ctx, ApiRequest& out);

// Deepest nesting of arrays/objects in `body` (strings skipped), stopping early past `limit`.
int json_depth(std::string_view body, int limit);

}  // namespace whale::server
