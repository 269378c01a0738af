// engine.h — the serving engine: what `whale serve` (and later the CLI) sees. Requests are
// queued from any thread; one model thread steps every active sequence together (continuous
// batching), prefills long prompts in chunks between decode steps, reuses cached prompt
// prefixes, and reports each request's progress through its event sink.
//
// This header is the contract between the runtime (scheduler, batched forward, prefix cache)
// and the HTTP layer (src/server/). Nothing above the runtime includes model/ or kernels/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/generator.h"  // FinishReason
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"
#include "util/status.h"

namespace whale {

using RequestId = std::uint64_t;

// One request as the engine runs it: token ids in, text out. The HTTP layer renders chat
// messages with the model's template and expands `n` into n requests (seeds seed, seed+1, ...).
struct EngineRequest {
  std::vector<std::int32_t> prompt;
  SamplingParams sampling;
  std::int64_t max_tokens = 512;        // generated tokens, thinking included
  std::vector<std::string> stop;        // stop strings (not part of the output)
  bool starts_in_thinking = false;      // the prompt already opened <think>
  std::int32_t top_logprobs = -1;       // < 0: no logprobs; 0..20: the chosen token plus that many
  // Constrain the answer (after </think>) to one JSON object: only tokens whose bytes keep it a
  // JSON-object prefix are sampled, and the request ends (kStop) when the object closes. Without
  // starts_in_thinking the whole output is the answer (the model cannot open a <think>).
  bool json_object = false;
  std::int64_t max_thinking = -1;       // < 0: unlimited; else close the think section after N
};

struct TokenLogprob {
  std::int32_t token = 0;
  std::string bytes;  // the token's raw bytes
  float logprob = 0;  // natural log of the probability the model gave it (before sampling filters)
  std::vector<std::pair<std::int32_t, float>> top;  // (token, logprob), best first
};

struct EngineUsage {
  std::int64_t prompt_tokens = 0;
  std::int64_t cached_prompt_tokens = 0;  // taken from the prefix cache, not recomputed
  std::int64_t completion_tokens = 0;
  std::int64_t reasoning_tokens = 0;      // of completion_tokens, inside <think>
};

// What a sink receives. Text deltas are whole UTF-8 characters, already split into thinking and
// answer; a stop string is never part of them. The last event has `finished` set.
struct EngineEvent {
  std::string thinking;
  std::string answer;
  std::vector<TokenLogprob> logprobs;  // one per token that produced this delta (when asked)
  bool finished = false;
  FinishReason finish = FinishReason::kStop;  // kStop, kLength, kContext or kCancelled
  EngineUsage usage;                          // final counts when finished
};

// Runs on the engine's model thread: must return quickly (push to a queue, write to a socket
// buffer) and must not throw. Returning false cancels the request (the client went away); the
// sink still receives the final event. It may call cancel(), stats() and submit().
using EventSink = std::function<bool(const EngineEvent&)>;

struct EngineOptions {
  std::filesystem::path model_path;
  int n_threads = 0;                 // 0: all hardware threads
  std::int64_t context_tokens = 0;   // per sequence; 0: the model's maximum, capped by memory
  std::int32_t parallel = 4;         // sequences decoded together
  std::int32_t max_queued = 64;      // waiting requests beyond `parallel`; more are refused
  std::int64_t prefill_chunk = 256;  // prompt tokens per step, so decodes are never starved
  // Tokens of finished requests' KV kept for reuse by later prompts with the same prefix;
  // 0: automatic (one full context's worth), < 0: no prefix cache.
  std::int64_t prefix_cache_tokens = 0;
};

struct EngineStats {
  std::int64_t requests_total = 0;
  std::int64_t requests_active = 0;
  std::int64_t requests_queued = 0;
  std::int64_t prompt_tokens_total = 0;
  std::int64_t cached_prompt_tokens_total = 0;
  std::int64_t generated_tokens_total = 0;
  double decode_tokens_per_s = 0;  // aggregate over the last few seconds
  std::uint64_t kv_cache_bytes = 0;
  std::uint64_t kv_cache_capacity_bytes = 0;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> load(const EngineOptions& options);
  virtual ~Engine() = default;

  virtual const Tokenizer& tokenizer() const = 0;
  virtual const std::string& model_name() const = 0;  // file stem, as /v1/models lists it
  virtual std::int64_t context_tokens() const = 0;

  // Queues a request. Fails with a message when the prompt does not fit the context (naming
  // both counts), a parameter is out of range, or the queue is full (is_queue_full()).
  virtual Result<RequestId> submit(EngineRequest request, EventSink sink) = 0;
  // Safe from any thread; the sink gets a final kCancelled event within one step.
  virtual void cancel(RequestId id) = 0;
  virtual EngineStats stats() const = 0;
  // Stops accepting requests and ends every active and queued one (finished with kCancelled),
  // then joins the model thread (called from a sink, it only asks; the destructor joins).
  virtual void shutdown() = 0;
};

// True when `error` came from submit() refusing a request because the queue is full (429).
bool is_queue_full(const Error& error);

}  // namespace whale
