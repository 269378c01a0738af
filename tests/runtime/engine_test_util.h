// engine_test_util.h — what the engine tests share: model paths, a sink that collects a
// request's events, and generate() run the way the engine configures it.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "runtime/generator.h"

namespace whale::test {

std::filesystem::path tiny_model(const std::string& name, const std::string& variant = "f32");
// The byte-level demo model (R1 template, <think> tokens), generated once per build.
std::filesystem::path demo_model();

// Collects one request's events; wait() blocks until the final one.
class Collector {
 public:
  struct Result {
    std::string thinking, answer;
    std::vector<TokenLogprob> logprobs;
    std::vector<std::int32_t> tokens;  // from the logprobs
    int events = 0;
    int finished_events = 0;
    FinishReason finish = FinishReason::kStop;
    EngineUsage usage;
  };
  // The sink returns false (client gone) once `stop_after` events have arrived (< 0: never).
  EventSink sink(int stop_after = -1);
  Result wait();
  bool wait_for_events(int n, double seconds);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Result r_;
  bool done_ = false;
};

// generate() with the engine's vocabulary settings (EOS ids from the tokenizer and config).
GenerationResult generate_like_engine(Model& model, const Tokenizer& tok, const EngineRequest& r,
                                      std::int64_t context);

}  // namespace whale::test
