// sequence.h — one request's state inside the engine: its prompt and how much of it is
// prefilled, its cache, seeded sampler, text stream (UTF-8, stop strings, thinking/answer) and
// budgets. The scheduler feeds it a step's logits; it samples, streams an event to the sink and
// says whether the request is finished. Runs on the model thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "model/model.h"
#include "runtime/engine.h"
#include "runtime/generator.h"
#include "runtime/text_stream.h"
#include "sampling/json_prefix.h"
#include "sampling/sampler.h"

namespace whale {

// What every sequence needs to know about the vocabulary; owned by the engine.
struct SequenceVocab {
  TokenText text;
  std::vector<std::int32_t> eos_ids;
  std::int64_t vocab_size = 0;
};

class Sequence {
 public:
  Sequence(RequestId id, EngineRequest request, EventSink sink, KvCache cache,
           const SequenceVocab& vocab);

  RequestId id() const { return id_; }
  KvCache& cache() { return cache_; }
  const EngineRequest& request() const { return request_; }
  bool prefilling() const { return cache_.n_tokens < static_cast<std::int64_t>(request_.prompt.size()); }
  std::int64_t prompt_left() const {
    return static_cast<std::int64_t>(request_.prompt.size()) - cache_.n_tokens;
  }
  // This step's tokens: the next `n` prompt tokens while prefilling, else the token to decode.
  std::span<const std::int32_t> step_tokens(std::int64_t n) const;
  // Prompt tokens whose cache rows came from the prefix cache.
  void set_cached_prompt_tokens(std::int64_t n) { usage_.cached_prompt_tokens = n; }

  // Logits of the last token of this step (modified in place by the sampler). Samples, streams
  // the text to the sink and returns true when the request is finished (its final event sent).
  bool on_logits(std::span<float> logits);
  // Ends the request now (cancel, shutdown) with a final event.
  void finish(FinishReason reason);
  bool finished() const { return finished_; }

  // Prompt plus the generated tokens whose rows are in the cache, for the prefix cache.
  std::span<const std::int32_t> cached_tokens() const {
    return std::span(history_).first(static_cast<std::size_t>(cache_.n_tokens));
  }
  const EngineUsage& usage() const { return usage_; }

 private:
  TokenLogprob logprob_of(std::span<const float> raw, std::int32_t token) const;
  // json_object: samples among the tokens whose bytes keep the answer a JSON-object prefix;
  // -1 when no token can.
  std::int32_t sample_json(std::span<float> logits);
  bool json_allows(std::int32_t token) const;
  void send(EngineEvent& event);

  RequestId id_;
  EngineRequest request_;
  EventSink sink_;
  KvCache cache_;
  const SequenceVocab& vocab_;
  Sampler sampler_;
  TokenTextStream text_;
  std::vector<std::int32_t> history_;  // prompt + generated
  std::vector<std::int32_t> forced_;   // tokens to feed instead of sampling (closing a think)
  std::vector<float> raw_;             // the logits before sampling (logprobs, json_object)
  JsonPrefix json_;                    // the answer so far, for json_object
  std::vector<std::int32_t> rejected_;
  std::int32_t next_token_ = 0;
  EngineUsage usage_;
  bool finished_ = false;
};

}  // namespace whale
