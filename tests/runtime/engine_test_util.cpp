// engine_test_util.cpp — helpers for the engine tests.
#include "runtime/engine_test_util.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace whale::test {

std::filesystem::path tiny_model(const std::string& name, const std::string& variant) {
  return std::filesystem::path(WHALE_TINY_MODELS_DIR) / name / fmt::format("{}-{}.gguf", name, variant);
}

std::filesystem::path demo_model() {
  const std::filesystem::path dir = std::filesystem::path(WHALE_TEST_TMP_DIR) / "engine-demo-model";
  const std::filesystem::path out = dir / "whale-demo.gguf";
  if (std::filesystem::exists(out)) return out;
  std::filesystem::create_directories(dir);
  // Test processes run in parallel: write under a private name, then rename (atomic).
  const std::filesystem::path tmp = dir / fmt::format("whale-demo.{}.gguf", getpid());
  const std::string cmd = fmt::format("'{}' '{}' > /dev/null", WHALE_MAKE_DEMO_MODEL, tmp.string());
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::filesystem::rename(tmp, out);
  return out;
}

EventSink Collector::sink(int stop_after) {
  return [this, stop_after](const EngineEvent& e) {
    std::lock_guard lock(mu_);
    ++r_.events;
    r_.thinking += e.thinking;
    r_.answer += e.answer;
    for (const auto& lp : e.logprobs) {
      r_.logprobs.push_back(lp);
      r_.tokens.push_back(lp.token);
    }
    if (e.finished) {
      ++r_.finished_events;
      r_.finish = e.finish;
      r_.usage = e.usage;
      done_ = true;
    }
    cv_.notify_all();
    return stop_after < 0 || r_.events < stop_after;
  };
}

Collector::Result Collector::wait() {
  std::unique_lock lock(mu_);
  const bool ok = cv_.wait_for(lock, std::chrono::seconds(60), [&] { return done_; });
  EXPECT_TRUE(ok) << "no final event within 60 s";
  return r_;
}

bool Collector::wait_for_events(int n, double seconds) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return r_.events >= n || done_; });
}

GenerationResult generate_like_engine(Model& model, const Tokenizer& tok, const EngineRequest& r,
                                      std::int64_t context) {
  TokenText text;
  text.bytes = [&tok](std::int32_t id) { return tok.token_bytes(id); };
  text.is_special = [&tok](std::int32_t id) { return tok.is_special(id); };
  GenerationRequest g;
  g.prompt = r.prompt;
  g.sampling = r.sampling;
  g.max_tokens = r.max_tokens;
  g.stop = r.stop;
  g.starts_in_thinking = r.starts_in_thinking;
  g.max_thinking = r.max_thinking;
  EncodeOptions eo;
  eo.add_bos = false;
  if (auto close = tok.encode("\n</think>\n\n", eo); close.ok()) text.close_thinking = *close;
  if (auto e = tok.eos_id()) g.eos_ids.push_back(*e);
  for (auto e : model.config().eos_token_ids) g.eos_ids.push_back(static_cast<std::int32_t>(e));
  auto out = generate(model, text, g, context, {});
  EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().what());
  return out.ok() ? *out : GenerationResult{};
}

}  // namespace whale::test
