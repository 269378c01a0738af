// forward_batch_test.cpp — Model::forward_batch against one-sequence forward on every tiny
// model: several sequences of different lengths, prefill chunks and decode tokens mixed in one
// batch. Against the same chunking run one sequence at a time the logits must be the same bits:
// every matmul path gives a token's outputs in one order whatever the row count (the integer
// path by its contract, the exact path since the float kernels share one addition order; before,
// the float models differed by up to 6.3e-7 of the largest logit), and the rest of the
// arithmetic is per row or per sequence. Against one whole-sequence prefill (the expanded MLA
// form where the batch used the absorbed one for decode rows) they must agree to 1e-4, the
// project's logits target.
#include <gtest/gtest.h>

#include <cmath>

#include "model/model.h"
#include "runtime/engine_test_util.h"

namespace whale {
namespace {

struct Seq {
  std::vector<std::int32_t> tokens;
  std::vector<std::int64_t> chunks;  // sizes, in order; they sum to tokens.size()
  LogitRows rows = LogitRows::kLast;
};

std::vector<Seq> schedule(std::int64_t vocab) {
  auto ids = [vocab](std::int64_t n, std::int64_t salt) {
    std::vector<std::int32_t> v;
    for (std::int64_t i = 0; i < n; ++i) v.push_back(static_cast<std::int32_t>((i * 31 + salt * 17 + 3) % vocab));
    return v;
  };
  // Step k runs chunk k of every sequence that has one: decode rows (chunk 1) sit next to
  // prefill chunks and sequences are at different lengths throughout.
  return {
      {ids(12, 1), {5, 1, 1, 1, 1, 1, 1, 1}, LogitRows::kLast},
      {ids(20, 2), {3, 4, 1, 1, 9, 1, 1}, LogitRows::kAll},
      {ids(26, 3), {10, 10, 1, 1, 1, 1, 1, 1}, LogitRows::kLast},
      {ids(2, 4), {1, 1}, LogitRows::kLast},
  };
}

// Logits rows the schedule produces: (sequence, position) in batch order.
struct Produced {
  std::vector<std::pair<std::size_t, std::int64_t>> at;
  std::vector<float> logits;
};

Produced run_batched(Model& m, const std::vector<Seq>& seqs, std::int64_t vocab, bool one_at_a_time) {
  std::vector<KvCache> caches;
  for (std::size_t i = 0; i < seqs.size(); ++i) caches.push_back(m.new_cache(64));
  std::vector<std::int64_t> done(seqs.size(), 0);
  Produced out;
  for (std::size_t k = 0;; ++k) {
    std::vector<SeqStep> steps;
    std::vector<std::size_t> owner;
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      if (k >= seqs[i].chunks.size()) continue;
      const std::int64_t n = seqs[i].chunks[k];
      steps.push_back({std::span(seqs[i].tokens).subspan(static_cast<std::size_t>(done[i]), static_cast<std::size_t>(n)),
                       &caches[i], seqs[i].rows});
      owner.push_back(i);
    }
    if (steps.empty()) break;
    auto run = [&](std::span<const SeqStep> part, std::span<const std::size_t> who) {
      const std::int64_t rows = logit_rows(part);
      std::vector<float> logits(static_cast<std::size_t>(rows * vocab));
      auto r = m.forward_batch(part, Span2D<float>(logits.data(), rows, vocab));
      ASSERT_TRUE(r.ok()) << r.error().what();
      out.logits.insert(out.logits.end(), logits.begin(), logits.end());
      for (std::size_t j = 0; j < part.size(); ++j) {
        const std::size_t i = who[j];
        const auto T = static_cast<std::int64_t>(part[j].tokens.size());
        if (part[j].logits == LogitRows::kAll)
          for (std::int64_t t = 0; t < T; ++t) out.at.emplace_back(i, done[i] + t);
        else if (part[j].logits == LogitRows::kLast)
          out.at.emplace_back(i, done[i] + T - 1);
      }
    };
    if (one_at_a_time) {
      for (std::size_t j = 0; j < steps.size(); ++j) run(std::span(&steps[j], 1), std::span(&owner[j], 1));
    } else {
      run(steps, owner);
    }
    for (std::size_t j = 0; j < steps.size(); ++j) done[owner[j]] += static_cast<std::int64_t>(steps[j].tokens.size());
  }
  return out;
}

// `compare_whole_prefill`: also compare with each sequence prefilled whole. A whole prefill
// uses MLA's expanded form where the batch decodes with the absorbed one; with block-quantized
// weights the default integer matmul quantizes the two forms' different intermediates to 8 bits,
// so they differ by the Q8 activation error (bounded and checked by compare_logits.py
// --q8-activations), and a router score that close can flip an expert. Batching itself is
// checked against the same chunking run one sequence at a time, for every file.
void check_model(const std::filesystem::path& path, bool compare_whole_prefill) {
  SCOPED_TRACE(path.string());
  LoadOptions lo;
  lo.n_threads = 2;
  auto model = load_model(path, lo);
  ASSERT_TRUE(model.ok()) << model.error().what();
  Model& m = **model;
  const std::int64_t vocab = m.config().vocab_size;
  const std::vector<Seq> seqs = schedule(vocab);
  const Produced batched = run_batched(m, seqs, vocab, false);
  const Produced single = run_batched(m, seqs, vocab, true);
  ASSERT_EQ(batched.at, single.at);
  ASSERT_EQ(batched.logits.size(), single.logits.size());
  for (std::size_t k = 0; k < batched.at.size(); ++k) {
    const float* want = single.logits.data() + static_cast<std::int64_t>(k) * vocab;
    const float* got = batched.logits.data() + static_cast<std::int64_t>(k) * vocab;
    float scale = 0, worst = 0;
    for (std::int64_t v = 0; v < vocab; ++v) {
      scale = std::max(scale, std::fabs(want[v]));
      worst = std::max(worst, std::fabs(want[v] - got[v]));
    }
    EXPECT_EQ(worst, 0.0f) << "logits row " << k << " (scale " << scale << ")";
  }

  if (!compare_whole_prefill) return;
  // Each sequence prefilled whole, alone: every position's logits.
  std::vector<std::vector<float>> whole;
  for (const Seq& s : seqs) {
    KvCache cache = m.new_cache(64);
    const auto T = static_cast<std::int64_t>(s.tokens.size());
    whole.emplace_back(static_cast<std::size_t>(T * vocab));
    auto r = m.forward(s.tokens, cache, Span2D<float>(whole.back().data(), T, vocab));
    ASSERT_TRUE(r.ok()) << r.error().what();
  }
  for (std::size_t k = 0; k < batched.at.size(); ++k) {
    const auto [i, pos] = batched.at[k];
    const float* want = whole[i].data() + pos * vocab;
    const float* got = batched.logits.data() + static_cast<std::int64_t>(k) * vocab;
    float scale = 0, worst = 0;
    for (std::int64_t v = 0; v < vocab; ++v) {
      scale = std::max(scale, std::fabs(want[v]));
      worst = std::max(worst, std::fabs(want[v] - got[v]));
    }
    EXPECT_LE(worst, 1e-4f * scale) << "sequence " << i << " position " << pos;
  }
}

class ForwardBatch : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardBatch, MatchesOneSequenceForward) {
  const std::string model = GetParam();
  const bool mla = model.rfind("deepseek", 0) == 0;
  check_model(test::tiny_model(model, "f32"), true);
  check_model(test::tiny_model(model, "q8_0"), !mla);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, ForwardBatch,
                         ::testing::Values("qwen2-tiny", "llama3-tiny", "deepseek-v3-tiny",
                                           "deepseek-v2-lite-tiny", "deepseek-v2-group-tiny"));

TEST(ForwardBatchChecks, RefusesASharedCacheAndChangesNothing) {
  auto model = load_model(test::tiny_model("qwen2-tiny"), {});
  ASSERT_TRUE(model.ok());
  Model& m = **model;
  const std::int64_t vocab = m.config().vocab_size;
  KvCache a = m.new_cache(8), b = m.new_cache(8);
  const std::vector<std::int32_t> t{3, 4};
  std::vector<float> logits(static_cast<std::size_t>(2 * vocab));
  std::vector<SeqStep> shared{{t, &a, LogitRows::kLast}, {t, &a, LogitRows::kLast}};
  EXPECT_FALSE(m.forward_batch(shared, Span2D<float>(logits.data(), 2, vocab)).ok());
  const std::vector<std::int32_t> bad{3, static_cast<std::int32_t>(vocab)};
  std::vector<SeqStep> steps{{t, &a, LogitRows::kLast}, {bad, &b, LogitRows::kLast}};
  auto r = m.forward_batch(steps, Span2D<float>(logits.data(), 2, vocab));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what().find("outside the vocabulary"), std::string::npos);
  EXPECT_EQ(a.n_tokens, 0);
  EXPECT_EQ(b.n_tokens, 0);
  const std::vector<std::int32_t> long_seq(9, 3);
  std::vector<SeqStep> overflow{{t, &a, LogitRows::kLast}, {long_seq, &b, LogitRows::kLast}};
  EXPECT_FALSE(m.forward_batch(overflow, Span2D<float>(logits.data(), 2, vocab)).ok());
  EXPECT_EQ(a.n_tokens, 0);
}

}  // namespace
}  // namespace whale
