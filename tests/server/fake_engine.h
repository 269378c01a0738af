// fake_engine.h — a scripted Engine for the HTTP layer's tests: no model, a byte-level
// tokenizer with a small chat template, and answers that are a known function of the request
// (its seed and limits), streamed one piece per step on its own thread, like the real engine.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/engine.h"

namespace whale::test {

// What the fake answers: with a thinking prompt, kThinkingPieces pieces "t<i> " of thinking,
// then "seed=<seed>" and (n_answer_pieces - 1) pieces "+". Each piece is one token.
inline constexpr int kThinkingPieces = 2;
std::string fake_answer_piece(std::uint64_t seed, int i);

class FakeEngine : public Engine {
 public:
  struct Options {
    std::int64_t context_tokens = 256;
    int step_ms = 2;
    int n_answer_pieces = 4;
    std::size_t max_queued = 1000;
  };
  explicit FakeEngine(Options options);
  ~FakeEngine() override;

  const Tokenizer& tokenizer() const override { return tokenizer_; }
  const std::string& model_name() const override { return name_; }
  std::int64_t context_tokens() const override { return options_.context_tokens; }
  Result<RequestId> submit(EngineRequest request, EventSink sink) override;
  void cancel(RequestId id) override;
  EngineStats stats() const override;
  void shutdown() override;

  // What the tests look at.
  std::vector<EngineRequest> submitted() const;
  std::int64_t cancelled_count() const { return cancelled_count_; }
  std::int64_t active() const { return active_; }  // submitted and not yet finished

 private:
  struct Job {
    RequestId id = 0;
    EngineRequest request;
    EventSink sink;
    int step = 0;
    std::int64_t thinking_tokens = 0;
  };
  void loop();
  // Emits one step of `job`; true when it finished.
  bool step(Job& job);

  Options options_;
  Tokenizer tokenizer_;
  std::string name_ = "fake-model";
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Job> jobs_;
  std::set<RequestId> to_cancel_;
  std::vector<EngineRequest> submitted_;
  RequestId next_id_ = 1;
  bool stopping_ = false;
  std::atomic<std::int64_t> cancelled_count_{0};
  std::atomic<std::int64_t> total_{0};
  // Counted apart from jobs_, which the engine thread empties while it steps them.
  std::atomic<std::int64_t> active_{0};
  std::thread thread_;
};

// The fake's tokenizer: every byte is a token (GPT-2 byte-level alphabet), plus <bos>, <eos>,
// <think> and </think>, with the chat template
//   <bos>{for m}<role>content{/for}<assistant><think>\n
Tokenizer fake_tokenizer();

}  // namespace whale::test
