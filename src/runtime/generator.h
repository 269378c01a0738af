// generator.h — the single-sequence generation loop for the CLI and tests: prefill, sample,
// decode, stream text split into thinking and answer, stop on EOS / stop strings / limits.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/model.h"
#include "sampling/sampler.h"
#include "util/status.h"

namespace whale {

// What the loop needs to know about the vocabulary.
struct TokenText {
  std::function<std::string(std::int32_t)> bytes;  // raw bytes a token stands for
  std::function<bool(std::int32_t)> is_special;    // control tokens are never printed
  // Ids that close a think section when --max-thinking is reached (e.g. "\n</think>\n\n").
  std::vector<std::int32_t> close_thinking;
};

// Whether a token's bytes join the text: control tokens do not, except the think tags, which
// the reasoning splitter consumes.
bool shows_text(const TokenText& vocab, std::int32_t token);

struct GenerationRequest {
  std::vector<std::int32_t> prompt;
  SamplingParams sampling;
  std::int64_t max_tokens = 512;
  std::vector<std::string> stop;
  std::vector<std::int32_t> eos_ids;
  bool starts_in_thinking = false;  // the prompt already opened <think>
  std::int64_t max_thinking = -1;   // < 0: unlimited
};

enum class FinishReason { kStop, kLength, kContext, kCancelled };
std::string_view finish_reason_name(FinishReason r);

struct GenerationResult {
  std::string thinking;
  std::string answer;
  std::vector<std::int32_t> tokens;   // generated ids
  std::int64_t n_prompt = 0;
  std::int64_t n_generated = 0;
  std::int64_t n_thinking_tokens = 0;
  FinishReason finish = FinishReason::kStop;
  double prompt_seconds = 0;          // prefill
  double generate_seconds = 0;        // decode steps after the first token
  double first_token_seconds = 0;     // from start to the first sampled token
};

struct GenerationCallbacks {
  std::function<void(std::string_view)> on_thinking;
  std::function<void(std::string_view)> on_answer;
  std::function<bool()> cancelled;  // polled between steps
};

// Runs `request` on a fresh cache of `context_tokens`. Prompt tokens that do not fit leave
// an error; running out of context mid-answer ends with FinishReason::kContext.
Result<GenerationResult> generate(Model& model, const TokenText& vocab,
                                  const GenerationRequest& request, std::int64_t context_tokens,
                                  const GenerationCallbacks& callbacks);

}  // namespace whale
