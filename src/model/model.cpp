// model.cpp — KV cache storage, step checks and the architecture dispatch of load_model.
#include "model/model.h"

#include <algorithm>

#include "model/deepseek/deepseek_model.h"
#include "model/dense/dense_model.h"
#include "model/model_info.h"
#include "util/thread_pool.h"

namespace whale {

KvCache::KvCache(std::int64_t n_layers, std::int64_t capacity_tokens, std::int64_t k_w, std::int64_t v_w)
    : capacity(capacity_tokens), k_width(k_w), v_width(v_w), n_layers_(n_layers) {}

bool KvCache::reserve(std::int64_t n) {
  if (n > capacity) return false;
  const auto blocks = static_cast<std::size_t>((n + kKvBlockTokens - 1) / kKvBlockTokens);
  while (blocks_.size() < blocks) {
    auto b = std::make_shared<KvBlock>();
    b->k = AlignedBuffer<float>(static_cast<std::size_t>(n_layers_ * kKvBlockTokens * k_width));
    b->v = AlignedBuffer<float>(static_cast<std::size_t>(n_layers_ * kKvBlockTokens * v_width));
    blocks_.push_back(std::move(b));
  }
  return true;
}

std::uint64_t KvCache::block_bytes() const {
  return static_cast<std::uint64_t>(n_layers_ * kKvBlockTokens * (k_width + v_width)) * sizeof(float);
}

std::uint64_t KvCache::bytes() const { return blocks_.size() * block_bytes(); }

std::uint64_t KvCache::unshared_bytes() const {
  std::uint64_t n = 0;
  for (const auto& b : blocks_) n += b.use_count() == 1 ? block_bytes() : 0;
  return n;
}

void KvCache::append_shared(std::shared_ptr<KvBlock> block) {
  WHALE_CHECK(n_tokens == n_blocks() * kKvBlockTokens && n_tokens + kKvBlockTokens <= capacity,
              "shared block appended to a cache that does not end at a block boundary");
  blocks_.push_back(std::move(block));
  n_tokens += kKvBlockTokens;
}

void KvCache::append_copy(const KvBlock& src, std::int64_t n_positions) {
  WHALE_CHECK(n_tokens == n_blocks() * kKvBlockTokens && n_tokens + n_positions <= capacity &&
                  n_positions > 0 && n_positions <= kKvBlockTokens,
              "copied block appended to a cache that does not end at a block boundary");
  WHALE_CHECK(reserve(n_tokens + n_positions));
  KvBlock& dst = *blocks_.back();
  for (std::int64_t l = 0; l < n_layers_; ++l) {
    std::copy_n(src.k.data() + l * kKvBlockTokens * k_width, n_positions * k_width,
                dst.k.data() + l * kKvBlockTokens * k_width);
    std::copy_n(src.v.data() + l * kKvBlockTokens * v_width, n_positions * v_width,
                dst.v.data() + l * kKvBlockTokens * v_width);
  }
  n_tokens += n_positions;
}

std::uint64_t KvCache::capacity_bytes() const {
  return static_cast<std::uint64_t>(n_layers_) * static_cast<std::uint64_t>(capacity) *
         static_cast<std::uint64_t>(k_width + v_width) * sizeof(float);
}

Result<void> prepare_batch(const ModelConfig& c, std::span<const SeqStep> steps,
                           Span2D<float> logits) {
  if (steps.empty()) return Error("no sequences to process");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const SeqStep& s = steps[i];
    WHALE_CHECK(s.cache != nullptr, "a batch step without a cache");
    for (std::size_t j = 0; j < i; ++j)
      if (steps[j].cache == s.cache) return Error("sequences {} and {} share one cache", j, i);
    if (s.tokens.empty()) return Error("sequence {}: no tokens to process", i);
    for (std::size_t t = 0; t < s.tokens.size(); ++t)
      if (s.tokens[t] < 0 || s.tokens[t] >= c.vocab_size)
        return Error("token id {} at index {} is outside the vocabulary [0, {})", s.tokens[t], t, c.vocab_size);
    const auto T = static_cast<std::int64_t>(s.tokens.size());
    if (s.cache->n_tokens + T > s.cache->capacity)
      return Error("context full: {} tokens cached + {} new exceed the context of {}",
                   s.cache->n_tokens, T, s.cache->capacity);
  }
  WHALE_CHECK(logits.rows() == logit_rows(steps) && logits.cols() == c.vocab_size, "logits buffer shape");
  for (const SeqStep& s : steps)
    WHALE_CHECK(s.cache->reserve(s.cache->n_tokens + static_cast<std::int64_t>(s.tokens.size())));
  return {};
}

std::int64_t logit_rows(std::span<const SeqStep> steps) {
  std::int64_t n = 0;
  for (const SeqStep& s : steps)
    n += s.logits == LogitRows::kAll ? static_cast<std::int64_t>(s.tokens.size())
                                     : s.logits == LogitRows::kLast ? 1 : 0;
  return n;
}

Result<std::unique_ptr<Model>> load_model(const std::filesystem::path& path, const LoadOptions& options) {
  WHALE_TRY(ModelFiles files, open_model_files(path));
  WHALE_TRY(ModelConfig config, read_model_config(files, options.moe_groups));
  const int threads = options.n_threads > 0 ? options.n_threads : ThreadPool::default_threads();
  WeightStore store(std::move(files));
  store.warm_up();
  Result<std::unique_ptr<Model>> model =
      config.arch == Arch::kDeepSeek2 ? load_deepseek(std::move(store), std::move(config), threads)
                                      : load_dense(std::move(store), std::move(config), threads);
  if (!model.ok()) return std::move(model).error().context("{}", path.string());
  return model;
}

}  // namespace whale
