// prefix_cache_test.cpp — the prefix cache: a prompt that starts like an earlier one takes its
// KV rows (full blocks shared, a partly matching block copied) and computes only the rest, with
// the logits of an uncached run; LRU eviction within the budget spares blocks in use; through
// the engine a repeated prompt reports cached_prompt_tokens and gives the same tokens.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "model/model.h"
#include "runtime/engine_test_util.h"
#include "runtime/prefix_cache.h"

namespace whale {
namespace {

std::vector<std::int32_t> ids(std::int64_t n, std::int64_t salt, std::int64_t vocab = 300) {
  std::vector<std::int32_t> v;
  for (std::int64_t i = 0; i < n; ++i) v.push_back(static_cast<std::int32_t>((i * 29 + salt * 13 + 7) % (vocab - 3)) + 3);
  return v;
}

class PrefixCacheModel : public ::testing::Test {
 protected:
  void SetUp() override {
    LoadOptions lo;
    lo.n_threads = 2;
    auto m = load_model(test::tiny_model("qwen2-tiny"), lo);
    ASSERT_TRUE(m.ok()) << m.error().what();
    model_ = std::move(m).value();
    vocab_ = model_->config().vocab_size;
  }
  // Runs tokens [cache.n_tokens, end) and returns their logits, [n, vocab].
  std::vector<float> run(std::span<const std::int32_t> tokens, KvCache& cache) {
    const auto rest = tokens.subspan(static_cast<std::size_t>(cache.n_tokens));
    const auto n = static_cast<std::int64_t>(rest.size());
    std::vector<float> logits(static_cast<std::size_t>(n * vocab_));
    auto r = model_->forward(rest, cache, Span2D<float>(logits.data(), n, vocab_));
    EXPECT_TRUE(r.ok()) << r.error().what();
    return logits;
  }
  // The last `rows` rows of two logits matrices agree to 1e-5 of the largest logit (only the
  // matmul row tiling differs between the two runs).
  void expect_close(const std::vector<float>& want, const std::vector<float>& got, std::int64_t rows) {
    const auto W = static_cast<std::int64_t>(want.size()) / vocab_, G = static_cast<std::int64_t>(got.size()) / vocab_;
    ASSERT_GE(W, rows);
    ASSERT_GE(G, rows);
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* a = want.data() + (W - rows + r) * vocab_;
      const float* b = got.data() + (G - rows + r) * vocab_;
      float scale = 0, worst = 0;
      for (std::int64_t v = 0; v < vocab_; ++v) {
        scale = std::max(scale, std::fabs(a[v]));
        worst = std::max(worst, std::fabs(a[v] - b[v]));
      }
      EXPECT_LE(worst, 1e-5f * scale) << "row " << r;
    }
  }
  std::unique_ptr<Model> model_;
  std::int64_t vocab_ = 0;
};

TEST_F(PrefixCacheModel, SharesFullBlocksAndComputesOnlyTheRest) {
  PrefixCache pc(1u << 30);
  const auto x = ids(100, 1);
  {
    KvCache a = model_->new_cache(128);
    run(x, a);
    pc.insert(x, a);  // 100 rows: one full block
  }
  EXPECT_EQ(pc.entries(), 1);
  auto y = std::vector<std::int32_t>(x.begin(), x.begin() + 90);
  for (auto t : ids(10, 2)) y.push_back(t);
  KvCache b = model_->new_cache(128);
  EXPECT_EQ(pc.attach(y, static_cast<std::int64_t>(y.size()) - 1, b), kKvBlockTokens);
  EXPECT_EQ(b.n_tokens, kKvBlockTokens);
  EXPECT_EQ(b.block(0).use_count(), 2);  // shared with the cache, not copied
  const auto cached = run(y, b);        // computes only the 36 tokens after the block
  EXPECT_EQ(cached.size(), static_cast<std::size_t>((100 - kKvBlockTokens) * vocab_));
  KvCache fresh = model_->new_cache(128);
  const auto uncached = run(y, fresh);
  expect_close(uncached, cached, 100 - kKvBlockTokens);
}

TEST_F(PrefixCacheModel, CopiesAPartlyMatchingBlock) {
  PrefixCache pc(1u << 30);
  const auto x = ids(128, 3);
  std::shared_ptr<KvBlock> second;
  {
    KvCache a = model_->new_cache(128);
    run(x, a);
    pc.insert(x, a);  // two full blocks
    second = a.block(1);
  }
  EXPECT_EQ(pc.entries(), 2);
  // Same first 100 tokens, then different: block 1 matches for 36 positions.
  auto z = std::vector<std::int32_t>(x.begin(), x.begin() + 100);
  for (auto t : ids(8, 4)) z.push_back(t);
  KvCache b = model_->new_cache(128);
  EXPECT_EQ(pc.attach(z, static_cast<std::int64_t>(z.size()) - 1, b), 100);
  EXPECT_NE(b.block(1).get(), second.get());  // copied: b will write positions 100.. into it
  EXPECT_EQ(b.k_row(1, 99)[3], second->k[static_cast<std::size_t>((1 * kKvBlockTokens + 35) * b.k_width + 3)]);
  const auto cached = run(z, b);
  KvCache fresh = model_->new_cache(128);
  expect_close(run(z, fresh), cached, 8);
  // The whole of x again: one token is always left to compute, so block 1 is copied, 63 rows.
  KvCache c = model_->new_cache(128);
  EXPECT_EQ(pc.attach(x, 127, c), 127);
  EXPECT_EQ(c.block(0).use_count(), 3);  // the prefix cache, b and c
}

TEST_F(PrefixCacheModel, EvictsLeastRecentlyUsedBlocksNotInUse) {
  KvCache probe = model_->new_cache(128);
  PrefixCache pc(2 * probe.block_bytes());
  std::vector<std::vector<std::int32_t>> prompts{ids(70, 10), ids(70, 11), ids(70, 12)};
  KvCache held = model_->new_cache(128);
  run(prompts[0], held);
  pc.insert(prompts[0], held);  // held by a live sequence
  for (int i = 1; i < 3; ++i) {
    KvCache a = model_->new_cache(128);
    run(prompts[static_cast<std::size_t>(i)], a);
    pc.insert(prompts[static_cast<std::size_t>(i)], a);
  }
  // Budget: two blocks. Prompt 0's block is in use, so prompt 1's (the oldest idle) went.
  EXPECT_EQ(pc.entries(), 2);
  EXPECT_LE(pc.bytes(), 2 * probe.block_bytes());
  auto attach = [&](const std::vector<std::int32_t>& p) {
    KvCache c = model_->new_cache(128);
    return pc.attach(p, 69, c);
  };
  EXPECT_EQ(attach(prompts[0]), kKvBlockTokens);
  EXPECT_EQ(attach(prompts[1]), 0);
  EXPECT_EQ(attach(prompts[2]), kKvBlockTokens);
  EXPECT_EQ(pc.idle_bytes(), probe.block_bytes());  // prompt 2's; prompt 0's is held
}

EngineRequest greedy(std::vector<std::int32_t> prompt, std::int64_t max_tokens) {
  EngineRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  r.top_logprobs = 0;
  return r;
}

void wait_idle(Engine& e) {
  for (int i = 0; i < 1000 && e.stats().requests_active != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(PrefixCacheEngine, ARepeatedPromptSkipsItsCachedBlocks) {
  EngineOptions o;
  o.model_path = test::tiny_model("qwen2-tiny");
  o.n_threads = 2;
  auto engine = Engine::load(o);
  ASSERT_TRUE(engine.ok());
  const EngineRequest r = greedy(ids(100, 5), 10);
  test::Collector first, second;
  ASSERT_TRUE((*engine)->submit(r, first.sink()).ok());
  const auto a = first.wait();
  ASSERT_TRUE((*engine)->submit(r, second.sink()).ok());
  const auto b = second.wait();
  EXPECT_EQ(a.usage.cached_prompt_tokens, 0);
  EXPECT_EQ(b.usage.cached_prompt_tokens, kKvBlockTokens);
  EXPECT_EQ(a.tokens, b.tokens);
  wait_idle(**engine);
  EXPECT_EQ((*engine)->stats().cached_prompt_tokens_total, kKvBlockTokens);
  EXPECT_EQ((*engine)->stats().prompt_tokens_total, 200);
  // Idle: the KV memory is the one cached block (prompt + answer = 110 tokens, one full block).
  auto model = load_model(o.model_path, {});
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*engine)->stats().kv_cache_bytes, (*model)->new_cache(1).block_bytes());
}

// DeepSeek (MLA latent cache), context 64 = one block: the first request fills it, the second
// copies the matching rows of that block.
TEST(PrefixCacheEngine, MlaCacheRowsAreReusedByCopy) {
  EngineOptions o;
  o.model_path = test::tiny_model("deepseek-v3-tiny");
  o.n_threads = 2;
  auto engine = Engine::load(o);
  ASSERT_TRUE(engine.ok());
  ASSERT_EQ((*engine)->context_tokens(), 64);
  EngineRequest r = greedy(ids(30, 6, 320), 1000);
  for (std::int32_t e = 0; e < 320; ++e)
    if ((*engine)->tokenizer().is_special(e)) r.sampling.logit_bias[e] = -INFINITY;
  test::Collector first, second;
  ASSERT_TRUE((*engine)->submit(r, first.sink()).ok());
  const auto a = first.wait();
  EXPECT_EQ(a.finish, FinishReason::kContext);  // so the whole block was computed
  ASSERT_TRUE((*engine)->submit(r, second.sink()).ok());
  const auto b = second.wait();
  EXPECT_EQ(b.usage.cached_prompt_tokens, 29);
  EXPECT_EQ(a.tokens, b.tokens);
}

TEST(PrefixCacheEngine, OffWhenNegative) {
  EngineOptions o;
  o.model_path = test::tiny_model("qwen2-tiny");
  o.n_threads = 2;
  o.prefix_cache_tokens = -1;
  auto engine = Engine::load(o);
  ASSERT_TRUE(engine.ok());
  const EngineRequest r = greedy(ids(100, 5), 4);
  test::Collector first, second;
  ASSERT_TRUE((*engine)->submit(r, first.sink()).ok());
  first.wait();
  ASSERT_TRUE((*engine)->submit(r, second.sink()).ok());
  EXPECT_EQ(second.wait().usage.cached_prompt_tokens, 0);
}

}  // namespace
}  // namespace whale
