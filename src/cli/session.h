// session.h — what `run` and `chat` share: a loaded model with its tokenizer, chat template
// and sampling defaults, and the options that set them.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "runtime/generator.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {

struct SessionOptions {
  std::string model;
  int threads = 0;
  std::int64_t ctx = 0;  // 0: the model's context, capped by available memory
  std::int64_t max_tokens = 1024;
  std::optional<float> temperature, top_p, min_p, repetition_penalty;
  std::optional<std::int32_t> top_k;
  float frequency_penalty = 0, presence_penalty = 0;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> stop;
  std::vector<std::string> logit_bias;  // "ID=BIAS" (BIAS may be -inf)
  std::int64_t max_thinking = -1;
  bool ignore_eos = false;
  std::string chat_template_file;
  std::string moe_groups;
};
void add_session_options(CLI::App& sub, SessionOptions& o);

// "--moe-groups N,K" as a pair, or an error naming the flag.
Result<std::pair<int, int>> parse_moe_groups(const std::string& s);

// The model's recommended sampling (its generation config, else DeepSeek's advice for R1
// models: temperature 0.6, top-p 0.95), for `serve` as for `run` and `chat`.
Result<SamplingParams> model_sampling_defaults(const std::string& model, const Tokenizer& tok);

struct ChatMessage {
  std::string role;
  std::string content;
};

class Session {
 public:
  static Result<Session> open(const SessionOptions& options);

  Result<std::vector<std::int32_t>> encode_chat(const std::vector<ChatMessage>& messages) const;
  Result<std::vector<std::int32_t>> encode_raw(const std::string& text) const;
  Result<GenerationResult> generate(const std::vector<std::int32_t>& prompt,
                                    const GenerationCallbacks& callbacks);
  const SamplingParams& sampling() const { return sampling_; }
  Model& model() { return *model_; }

 private:
  SessionOptions options_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string chat_template_;
  SamplingParams sampling_;
  std::vector<std::int32_t> eos_ids_;
  TokenText token_text_;
  std::int64_t context_ = 0;
};

// "prompt 12 tokens (340.2 tok/s) | generated 48 tokens (21.7 tok/s) | first token 35 ms | stop"
void print_stats(const GenerationResult& r);

}  // namespace whale::cli
