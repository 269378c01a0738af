// engine_test.cpp — the serving engine: the same seed gives the same tokens as generate(), with
// many requests batched and prompts prefilled in chunks; logprobs; cancel from another thread,
// a sink that returns false, shutdown, the queue limit, the context end and request checks.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "runtime/engine.h"
#include "runtime/engine_test_util.h"

namespace whale {
namespace {

using test::Collector;

std::vector<std::int32_t> prompt_ids(std::int64_t n, std::int64_t vocab, std::int32_t salt) {
  std::vector<std::int32_t> p;
  for (std::int64_t i = 0; i < n; ++i)
    p.push_back(static_cast<std::int32_t>((i * 37 + salt * 11 + 5) % (vocab - 2)) + 2);
  return p;
}

std::unique_ptr<Engine> load_engine(const std::filesystem::path& path, EngineOptions o = {}) {
  o.model_path = path;
  if (o.n_threads == 0) o.n_threads = 2;
  auto e = Engine::load(o);
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().what());
  return e.ok() ? std::move(e).value() : nullptr;
}

EngineRequest sampled_request(std::vector<std::int32_t> prompt, std::uint64_t seed, std::int64_t max_tokens) {
  EngineRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.9f;
  r.sampling.top_p = 0.95f;
  r.sampling.seed = seed;
  r.max_tokens = max_tokens;
  r.top_logprobs = 0;  // so the events carry the token ids
  return r;
}

// Several requests of different prompt lengths run together, prompts in chunks of 5 tokens:
// each must produce exactly the tokens and text generate() produces alone with its seed.
void expect_same_as_generate(const std::string& model_name) {
  SCOPED_TRACE(model_name);
  const auto path = test::tiny_model(model_name);
  EngineOptions o;
  o.parallel = 3;
  o.prefill_chunk = 5;
  auto engine = load_engine(path, o);
  ASSERT_TRUE(engine);
  LoadOptions lo;
  lo.n_threads = 2;
  auto model = load_model(path, lo);
  ASSERT_TRUE(model.ok());
  const std::int64_t vocab = (*model)->config().vocab_size;

  std::vector<EngineRequest> reqs;
  for (int i = 0; i < 4; ++i)
    reqs.push_back(sampled_request(prompt_ids(3 + 7 * i, vocab, i), 100 + static_cast<std::uint64_t>(i), 12));
  std::vector<Collector> got(reqs.size());
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    auto id = engine->submit(reqs[i], got[i].sink());
    ASSERT_TRUE(id.ok()) << id.error().what();
  }
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    const Collector::Result r = got[i].wait();
    const GenerationResult want =
        test::generate_like_engine(**model, engine->tokenizer(), reqs[i], engine->context_tokens());
    EXPECT_EQ(r.tokens, want.tokens) << "request " << i;
    EXPECT_EQ(r.answer, want.answer) << "request " << i;
    EXPECT_EQ(r.thinking, want.thinking) << "request " << i;
    EXPECT_EQ(r.usage.completion_tokens, want.n_generated);
    EXPECT_EQ(r.usage.prompt_tokens, static_cast<std::int64_t>(reqs[i].prompt.size()));
    EXPECT_EQ(r.finished_events, 1);
    EXPECT_EQ(r.finish, want.finish);
  }
  for (int i = 0; i < 1000 && engine->stats().requests_active != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.requests_total, 4);
  EXPECT_EQ(s.requests_active, 0);
  EXPECT_EQ(s.requests_queued, 0);
  std::int64_t prompt_total = 0;
  for (const auto& r : reqs) prompt_total += static_cast<std::int64_t>(r.prompt.size());
  EXPECT_EQ(s.prompt_tokens_total, prompt_total);
}

TEST(Engine, SameTokensAsGenerateQwen2) { expect_same_as_generate("qwen2-tiny"); }
TEST(Engine, SameTokensAsGenerateLlama3) { expect_same_as_generate("llama3-tiny"); }
TEST(Engine, SameTokensAsGenerateDeepSeekV3) { expect_same_as_generate("deepseek-v3-tiny"); }
TEST(Engine, SameTokensAsGenerateDeepSeekV2Lite) { expect_same_as_generate("deepseek-v2-lite-tiny"); }

// The demo model has a byte-level vocabulary and real <think> tokens: thinking and answer split,
// --max-thinking forcing "</think>", stop strings and multi-byte characters all go the same way
// through the engine as through generate().
TEST(Engine, SameTextAsGenerateWithThinkingAndStops) {
  const auto path = test::demo_model();
  EngineOptions o;
  o.parallel = 3;
  o.prefill_chunk = 4;
  o.context_tokens = 512;
  auto engine = load_engine(path, o);
  ASSERT_TRUE(engine);
  auto model = load_model(path, {});
  ASSERT_TRUE(model.ok());
  auto prompt = engine->tokenizer().encode("<｜User｜>Hello there, how are you?<｜Assistant｜><think>\n");
  ASSERT_TRUE(prompt.ok());
  std::vector<EngineRequest> reqs;
  for (int i = 0; i < 5; ++i) {
    EngineRequest r = sampled_request(*prompt, 7 + static_cast<std::uint64_t>(i), 40);
    r.starts_in_thinking = true;
    r.max_thinking = 3 + 4 * i;
    if (i % 2 == 1) r.stop = {"e", "\n\n"};
    reqs.push_back(std::move(r));
  }
  std::vector<Collector> got(reqs.size());
  for (std::size_t i = 0; i < reqs.size(); ++i) ASSERT_TRUE(engine->submit(reqs[i], got[i].sink()).ok());
  int answered = 0;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    const Collector::Result r = got[i].wait();
    const GenerationResult want = test::generate_like_engine(**model, engine->tokenizer(), reqs[i], 512);
    EXPECT_EQ(r.tokens, want.tokens) << "request " << i;
    EXPECT_EQ(r.thinking, want.thinking) << "request " << i;
    EXPECT_EQ(r.answer, want.answer) << "request " << i;
    EXPECT_EQ(r.finish, want.finish) << "request " << i;
    EXPECT_EQ(r.usage.reasoning_tokens, want.n_thinking_tokens) << "request " << i;
    EXPECT_FALSE(r.thinking.empty());
    answered += r.answer.empty() ? 0 : 1;
    if (std::getenv("WHALE_TEST_VERBOSE"))
      std::printf("request %zu: finish %s, %zu tokens, thinking %zu bytes, answer '%s'\n", i,
                  std::string(finish_reason_name(r.finish)).c_str(), r.tokens.size(), r.thinking.size(), r.answer.c_str());
  }
  EXPECT_GT(answered, 0);  // max_thinking made some of them answer
}

// Logprobs are the log-softmax of the raw logits, computed here in double from forward().
TEST(Engine, LogprobsAreTheLogSoftmaxOfTheLogits) {
  const auto path = test::tiny_model("qwen2-tiny");
  auto engine = load_engine(path);
  ASSERT_TRUE(engine);
  auto model = load_model(path, {});
  ASSERT_TRUE(model.ok());
  const std::int64_t vocab = (*model)->config().vocab_size;
  EngineRequest r;
  r.prompt = prompt_ids(9, vocab, 3);
  r.sampling.temperature = 0;  // greedy: the chosen token is the most likely one
  r.sampling.logit_bias[7] = 50.0f;  // sampling filters must not change the reported logprobs
  r.max_tokens = 1;
  r.top_logprobs = 5;
  Collector c;
  ASSERT_TRUE(engine->submit(r, c.sink()).ok());
  const Collector::Result got = c.wait();
  ASSERT_EQ(got.logprobs.size(), 1u);
  const TokenLogprob& lp = got.logprobs[0];
  EXPECT_EQ(lp.token, 7);  // the bias made token 7 the choice

  KvCache cache = (*model)->new_cache(64);
  std::vector<float> logits(r.prompt.size() * static_cast<std::size_t>(vocab));
  ASSERT_TRUE((*model)->forward(r.prompt, cache, Span2D<float>(logits.data(), static_cast<std::int64_t>(r.prompt.size()), vocab)).ok());
  const float* last = logits.data() + (r.prompt.size() - 1) * static_cast<std::size_t>(vocab);
  double mx = -INFINITY, sum = 0;
  for (std::int64_t i = 0; i < vocab; ++i) mx = std::max(mx, static_cast<double>(last[i]));
  for (std::int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(last[i]) - mx);
  auto logprob = [&](std::int32_t t) { return static_cast<double>(last[t]) - mx - std::log(sum); };
  EXPECT_NEAR(lp.logprob, logprob(7), 1e-5);
  ASSERT_EQ(lp.top.size(), 5u);
  for (std::size_t i = 0; i < lp.top.size(); ++i) {
    EXPECT_NEAR(lp.top[i].second, logprob(lp.top[i].first), 1e-5);
    if (i > 0) {
      EXPECT_GE(lp.top[i - 1].second, lp.top[i].second);
    }
  }
  // The top entry is the raw argmax.
  std::int32_t best = 0;
  for (std::int32_t i = 1; i < vocab; ++i)
    if (last[i] > last[best]) best = i;
  EXPECT_EQ(lp.top[0].first, best);
}

// Without EOS the request ends when the context is full: the last token sampled is output but
// never fed, so completion = context - prompt + 1.
TEST(Engine, EndsAtTheContext) {
  EngineOptions o;
  o.context_tokens = 40;
  auto engine = load_engine(test::tiny_model("llama3-tiny"), o);
  ASSERT_TRUE(engine);
  ASSERT_EQ(engine->context_tokens(), 40);
  EngineRequest r = sampled_request(prompt_ids(30, 288, 1), 5, 1000);
  for (std::int32_t e = 0; e < 288; ++e)
    if (engine->tokenizer().is_special(e)) r.sampling.logit_bias[e] = -INFINITY;
  Collector c;
  ASSERT_TRUE(engine->submit(r, c.sink()).ok());
  const auto got = c.wait();
  EXPECT_EQ(got.finish, FinishReason::kContext);
  EXPECT_EQ(got.usage.completion_tokens, 40 - 30 + 1);
}

TEST(Engine, MaxTokensEndsWithLength) {
  auto engine = load_engine(test::tiny_model("qwen2-tiny"));
  ASSERT_TRUE(engine);
  EngineRequest r = sampled_request(prompt_ids(4, 300, 2), 9, 3);
  for (std::int32_t e = 0; e < 300; ++e)
    if (engine->tokenizer().is_special(e)) r.sampling.logit_bias[e] = -INFINITY;
  Collector c;
  ASSERT_TRUE(engine->submit(r, c.sink()).ok());
  const auto got = c.wait();
  EXPECT_EQ(got.finish, FinishReason::kLength);
  EXPECT_EQ(got.usage.completion_tokens, 3);
  EXPECT_EQ(got.tokens.size(), 3u);
}

TEST(Engine, RefusesBadRequestsNamingTheProblem) {
  EngineOptions o;
  o.context_tokens = 32;
  auto engine = load_engine(test::tiny_model("qwen2-tiny"), o);
  ASSERT_TRUE(engine);
  Collector c;
  auto expect_error = [&](EngineRequest r, const std::string& needle) {
    auto id = engine->submit(std::move(r), c.sink());
    ASSERT_FALSE(id.ok()) << needle;
    EXPECT_NE(id.error().what().find(needle), std::string::npos) << id.error().what();
    EXPECT_FALSE(is_queue_full(id.error()));
  };
  EngineRequest ok = sampled_request({3, 4, 5}, 1, 4);
  EngineRequest r = ok;
  r.prompt.clear();
  expect_error(r, "empty");
  r = ok;
  r.prompt.assign(32, 3);
  expect_error(r, "32 tokens");
  r = ok;
  r.prompt[1] = 300;
  expect_error(r, "token 300");
  r = ok;
  r.top_logprobs = 21;
  expect_error(r, "top_logprobs");
  r = ok;
  r.sampling.top_p = 0;
  expect_error(r, "top_p");
  r = ok;
  r.max_tokens = 0;
  expect_error(r, "max_tokens");
}

// A request whose sink blocks the model thread holds the only slot; one more may wait; the
// next is refused as queue-full.
TEST(Engine, RefusesWhenTheQueueIsFull) {
  EngineOptions o;
  o.parallel = 1;
  o.max_queued = 1;
  auto engine = load_engine(test::tiny_model("qwen2-tiny"), o);
  ASSERT_TRUE(engine);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> events{0};
  auto blocking = [&](const EngineEvent&) {
    ++events;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return true;
  };
  EngineRequest r = sampled_request({3, 4, 5}, 1, 2);
  ASSERT_TRUE(engine->submit(r, blocking).ok());
  Collector second;
  ASSERT_TRUE(engine->submit(r, second.sink()).ok());
  Collector third;
  auto refused = engine->submit(r, third.sink());
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(is_queue_full(refused.error())) << refused.error().what();
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_EQ(second.wait().finished_events, 1);
  EXPECT_GE(events.load(), 1);
}

// cancel() from another thread ends a long request with one final kCancelled event, and the
// other requests run on unharmed.
TEST(Engine, CancelFromAnotherThread) {
  auto engine = load_engine(test::tiny_model("deepseek-v3-tiny"));
  ASSERT_TRUE(engine);
  EngineRequest r = sampled_request({3, 4, 5}, 1, 50);
  for (std::int32_t e = 0; e < 320; ++e)
    if (engine->tokenizer().is_special(e)) r.sampling.logit_bias[e] = -INFINITY;
  Collector victim, other;
  auto id = engine->submit(r, victim.sink());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(engine->submit(r, other.sink()).ok());
  ASSERT_TRUE(victim.wait_for_events(2, 30));
  std::thread([&] { engine->cancel(*id); }).join();
  const auto v = victim.wait();
  EXPECT_EQ(v.finish, FinishReason::kCancelled);
  EXPECT_EQ(v.finished_events, 1);
  EXPECT_LT(v.usage.completion_tokens, 50);
  const auto o = other.wait();
  EXPECT_NE(o.finish, FinishReason::kCancelled);
  // Stats are published after the step that sent the final events.
  for (int i = 0; i < 1000 && engine->stats().requests_active != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(engine->stats().requests_active, 0);
  engine->cancel(*id);  // a finished request: nothing happens
}

TEST(Engine, SinkReturningFalseCancels) {
  auto engine = load_engine(test::tiny_model("qwen2-tiny"));
  ASSERT_TRUE(engine);
  EngineRequest r = sampled_request({3, 4, 5}, 1, 60);
  for (std::int32_t e = 0; e < 300; ++e)
    if (engine->tokenizer().is_special(e)) r.sampling.logit_bias[e] = -INFINITY;
  Collector c;
  ASSERT_TRUE(engine->submit(r, c.sink(/*stop_after=*/2)).ok());
  const auto got = c.wait();
  EXPECT_EQ(got.finish, FinishReason::kCancelled);
  EXPECT_EQ(got.usage.completion_tokens, 2);  // ended within the step that saw `false`
  EXPECT_EQ(got.finished_events, 1);
}

TEST(Engine, ShutdownEndsActiveAndQueuedRequests) {
  EngineOptions o;
  o.parallel = 1;
  auto engine = load_engine(test::tiny_model("qwen2-tiny"), o);
  ASSERT_TRUE(engine);
  EngineRequest r = sampled_request({3, 4, 5}, 1, 100);
  for (std::int32_t e = 0; e < 300; ++e)
    if (engine->tokenizer().is_special(e)) r.sampling.logit_bias[e] = -INFINITY;
  Collector a, b;
  ASSERT_TRUE(engine->submit(r, a.sink()).ok());
  ASSERT_TRUE(engine->submit(r, b.sink()).ok());
  ASSERT_TRUE(a.wait_for_events(1, 30));
  engine->shutdown();
  EXPECT_EQ(a.wait().finish, FinishReason::kCancelled);
  EXPECT_EQ(b.wait().finish, FinishReason::kCancelled);
  EXPECT_EQ(a.wait().finished_events, 1);
  EXPECT_EQ(b.wait().finished_events, 1);
  Collector late;
  EXPECT_FALSE(engine->submit(r, late.sink()).ok());
}

// A long prompt is prefilled in prefill_chunk pieces between decode steps: a running request
// keeps getting a token every step while the newcomer's 100-token prompt takes 25 steps (with
// one 1000-token chunk instead, this fails: the difference is 1).
TEST(Engine, LongPromptsArePrefilledInChunksBetweenDecodes) {
  EngineOptions o;
  o.parallel = 2;
  o.prefill_chunk = 4;
  o.prefix_cache_tokens = -1;
  auto engine = load_engine(test::tiny_model("qwen2-tiny"), o);
  ASSERT_TRUE(engine);
  EngineRequest a = sampled_request({3, 4, 5}, 1, 120);
  for (std::int32_t e = 0; e < 300; ++e)
    if (engine->tokenizer().is_special(e)) a.sampling.logit_bias[e] = -INFINITY;
  std::atomic<int> a_events{0}, a_events_at_b_first{-1};
  Collector ca, cb;
  EventSink inner_a = ca.sink();
  ASSERT_TRUE(engine->submit(a, [&](const EngineEvent& e) { ++a_events; return inner_a(e); }).ok());
  ASSERT_TRUE(ca.wait_for_events(1, 30));
  EngineRequest b = sampled_request(prompt_ids(100, 300, 9), 2, 2);
  EventSink inner_b = cb.sink();
  const int a_before = a_events.load();
  ASSERT_TRUE(engine->submit(b, [&](const EngineEvent& e) {
                int expected = -1;
                a_events_at_b_first.compare_exchange_strong(expected, a_events.load());
                return inner_b(e);
              }).ok());
  cb.wait();
  ca.wait();
  EXPECT_GE(a_events_at_b_first.load() - a_before, 100 / 4 - 1);
}

// Several client threads submit, cancel at random moments and drop connections (sinks that
// return false), with a queue limit in play: every accepted request gets exactly one final
// event, refused ones none, and the engine ends idle. Run under ASan + UBSan in CI.
TEST(Engine, ConcurrentSubmitCancelAndDisconnect) {
  EngineOptions o;
  o.parallel = 3;
  o.max_queued = 6;
  o.prefill_chunk = 8;
  auto engine = load_engine(test::tiny_model("deepseek-v2-lite-tiny"), o);
  ASSERT_TRUE(engine);
  constexpr int kThreads = 4, kPerThread = 12;
  std::vector<std::unique_ptr<Collector>> collectors(kThreads * kPerThread);
  std::vector<bool> accepted(collectors.size(), false);
  std::vector<std::thread> clients;
  for (int c = 0; c < kThreads; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c) + 1);
      for (int k = 0; k < kPerThread; ++k) {
        const auto idx = static_cast<std::size_t>(c * kPerThread + k);
        collectors[idx] = std::make_unique<Collector>();
        EngineRequest r = sampled_request(prompt_ids(1 + static_cast<std::int64_t>(rng() % 40), 320, k), rng(), 1 + static_cast<std::int64_t>(rng() % 20));
        const int drop_after = rng() % 4 == 0 ? 1 + static_cast<int>(rng() % 3) : -1;
        auto id = engine->submit(r, collectors[idx]->sink(drop_after));
        if (!id.ok()) {
          EXPECT_TRUE(is_queue_full(id.error())) << id.error().what();
          continue;
        }
        accepted[idx] = true;
        if (rng() % 3 == 0) {
          std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
          engine->cancel(*id);
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  int n_accepted = 0;
  for (std::size_t i = 0; i < collectors.size(); ++i) {
    if (!accepted[i]) continue;
    ++n_accepted;
    EXPECT_EQ(collectors[i]->wait().finished_events, 1) << "request " << i;
  }
  EXPECT_GT(n_accepted, 0);
  for (int i = 0; i < 2000 && engine->stats().requests_active != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const EngineStats s = engine->stats();
  EXPECT_EQ(s.requests_active, 0);
  EXPECT_EQ(s.requests_queued, 0);
  EXPECT_EQ(s.requests_total, n_accepted);
}

}  // namespace
}  // namespace whale
