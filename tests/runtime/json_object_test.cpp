// json_object_test.cpp — json_object through the engine on the byte-level demo model (R1
// template, real <think> tokens): the thinking is free, the answer is one JSON object that an
// independent parser (nlohmann::json) accepts, and the request ends when the object closes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runtime/engine.h"
#include "runtime/engine_test_util.h"

namespace whale {
namespace {

TEST(JsonObject, TheAnswerIsOneJsonObject) {
  EngineOptions o;
  o.model_path = test::demo_model();
  o.n_threads = 2;
  o.context_tokens = 1024;
  o.parallel = 4;
  auto engine = Engine::load(o);
  ASSERT_TRUE(engine.ok()) << engine.error().what();
  const Tokenizer& tok = (*engine)->tokenizer();
  auto prompt = tok.encode("<｜User｜>Reply in JSON.<｜Assistant｜><think>\n");
  ASSERT_TRUE(prompt.ok());
  const auto quote = tok.token_id("\""), close = tok.token_id("}");
  ASSERT_TRUE(quote && close);
  std::vector<test::Collector> got(4);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EngineRequest r;
    r.prompt = *prompt;
    r.starts_in_thinking = true;
    r.max_thinking = 6;  // then "</think>" is forced and the answer starts
    r.json_object = true;
    r.max_tokens = 400;
    r.sampling.temperature = 0.8f;
    r.sampling.seed = 40 + i;
    // A random model rarely closes strings and objects by itself: make it likelier (the mask
    // still decides what is allowed).
    r.sampling.logit_bias[*quote] = 4.0f;
    r.sampling.logit_bias[*close] = 4.0f;
    ASSERT_TRUE((*engine)->submit(r, got[i].sink()).ok());
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto res = got[i].wait();
    SCOPED_TRACE("answer: " + res.answer);
    EXPECT_FALSE(res.thinking.empty());
    ASSERT_EQ(res.finish, FinishReason::kStop);
    EXPECT_TRUE(nlohmann::json::accept(res.answer));
    EXPECT_TRUE(nlohmann::json::parse(res.answer).is_object());
    EXPECT_EQ(res.answer.back(), '}');  // ended as the object closed
  }
}

// Without json_object the same requests do not produce JSON: the constraint did the work.
TEST(JsonObject, UnconstrainedAnswersAreNotJson) {
  EngineOptions o;
  o.model_path = test::demo_model();
  o.n_threads = 2;
  o.context_tokens = 1024;
  auto engine = Engine::load(o);
  ASSERT_TRUE(engine.ok());
  const Tokenizer& tok = (*engine)->tokenizer();
  auto prompt = tok.encode("<｜User｜>Reply in JSON.<｜Assistant｜><think>\n");
  ASSERT_TRUE(prompt.ok());
  EngineRequest r;
  r.prompt = *prompt;
  r.starts_in_thinking = true;
  r.max_thinking = 6;
  r.max_tokens = 60;
  r.sampling.temperature = 0.8f;
  r.sampling.seed = 40;
  test::Collector c;
  ASSERT_TRUE((*engine)->submit(r, c.sink()).ok());
  const auto res = c.wait();
  EXPECT_FALSE(nlohmann::json::accept(res.answer)) << res.answer;
}

}  // namespace
}  // namespace whale
