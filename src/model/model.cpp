// model.cpp — KV cache storage, step checks and the architecture dispatch of load_model.
#include "model/model.h"

#include <algorithm>

#include "model/deepseek/deepseek_model.h"
#include "model/dense/dense_model.h"
#include "model/model_info.h"
#include "util/thread_pool.h"

namespace whale {

KvCache::KvCache(std::int64_t n_layers, std::int64_t capacity_tokens, std::int64_t k_w, std::int64_t v_w)
    : capacity(capacity_tokens), k_width(k_w), v_width(v_w), n_layers_(n_layers),
      k_blocks_(static_cast<std::size_t>(n_layers)), v_blocks_(static_cast<std::size_t>(n_layers)) {}

bool KvCache::reserve(std::int64_t n) {
  if (n > capacity) return false;
  const auto blocks = static_cast<std::size_t>((n + kKvBlockTokens - 1) / kKvBlockTokens);
  for (std::int64_t l = 0; l < n_layers_; ++l) {
    auto& kb = k_blocks_[static_cast<std::size_t>(l)];
    auto& vb = v_blocks_[static_cast<std::size_t>(l)];
    while (kb.size() < blocks) kb.emplace_back(static_cast<std::size_t>(kKvBlockTokens * k_width));
    while (vb.size() < blocks) vb.emplace_back(static_cast<std::size_t>(kKvBlockTokens * std::max<std::int64_t>(v_width, 1)));
  }
  return true;
}

std::uint64_t KvCache::bytes() const {
  std::uint64_t n = 0;
  for (const auto& layer : k_blocks_)
    for (const auto& b : layer) n += b.size() * sizeof(float);
  for (const auto& layer : v_blocks_)
    for (const auto& b : layer) n += b.size() * sizeof(float);
  return n;
}

std::uint64_t KvCache::capacity_bytes() const {
  return static_cast<std::uint64_t>(n_layers_) * static_cast<std::uint64_t>(capacity) *
         static_cast<std::uint64_t>(k_width + v_width) * sizeof(float);
}

Result<void> prepare_step(const ModelConfig& c, std::span<const std::int32_t> tokens,
                          KvCache& cache, Span2D<float> logits) {
  if (tokens.empty()) return Error("no tokens to process");
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
      return Error("token id {} at index {} is outside the vocabulary [0, {})", tokens[i], i, c.vocab_size);
  const auto T = static_cast<std::int64_t>(tokens.size());
  if (cache.n_tokens + T > cache.capacity)
    return Error("context full: {} tokens cached + {} new exceed the context of {}", cache.n_tokens,
                 T, cache.capacity);
  WHALE_CHECK(cache.reserve(cache.n_tokens + T));
  WHALE_CHECK(logits.rows() == T && logits.cols() == c.vocab_size, "logits buffer shape");
  return {};
}

std::int64_t logit_rows(std::span<const SeqStep> steps) {
  std::int64_t n = 0;
  for (const SeqStep& s : steps)
    n += s.logits == LogitRows::kAll ? static_cast<std::int64_t>(s.tokens.size())
                                     : s.logits == LogitRows::kLast ? 1 : 0;
  return n;
}

// The fallback: one forward per sequence. Architectures override it to share weight reads.
Result<void> Model::forward_batch(std::span<const SeqStep> steps, Span2D<float> logits,
                                  const ForwardOptions& options) {
  const std::int64_t vocab = config().vocab_size;
  WHALE_CHECK(logits.rows() == logit_rows(steps) && logits.cols() == vocab, "logits buffer shape");
  std::vector<float> all;
  std::int64_t row = 0;
  for (const SeqStep& s : steps) {
    const auto T = static_cast<std::int64_t>(s.tokens.size());
    all.resize(static_cast<std::size_t>(T * vocab));
    WHALE_TRY_VOID(forward(s.tokens, *s.cache, Span2D<float>(all.data(), T, vocab), options));
    const std::int64_t first = s.logits == LogitRows::kAll ? 0 : T - 1;
    const std::int64_t n = s.logits == LogitRows::kAll ? T : s.logits == LogitRows::kLast ? 1 : 0;
    for (std::int64_t t = 0; t < n; ++t, ++row)
      std::copy_n(all.data() + (first + t) * vocab, vocab, logits.row(row));
  }
  return {};
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
