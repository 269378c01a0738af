// model.cpp — KV cache storage, step checks and the architecture dispatch of load_model.
#include "model/model.h"

#include "model/deepseek/deepseek_model.h"
#include "model/dense/dense_model.h"
#include "model/model_info.h"
#include "util/thread_pool.h"

namespace whale {

KvCache::KvCache(std::int64_t n_layers, std::int64_t capacity_tokens, std::int64_t k_w, std::int64_t v_w)
    : capacity(capacity_tokens), k_width(k_w), v_width(v_w) {
  for (std::int64_t l = 0; l < n_layers; ++l) {
    k.emplace_back(static_cast<std::size_t>(capacity_tokens * k_w));
    v.emplace_back(static_cast<std::size_t>(capacity_tokens * v_w));
  }
}

std::uint64_t KvCache::bytes() const {
  std::uint64_t n = 0;
  for (const auto& b : k) n += b.size() * sizeof(float);
  for (const auto& b : v) n += b.size() * sizeof(float);
  return n;
}

Result<void> check_step(const ModelConfig& c, std::span<const std::int32_t> tokens,
                        const KvCache& cache, Span2D<float> logits) {
  if (tokens.empty()) return Error("no tokens to process");
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
      return Error("token id {} at index {} is outside the vocabulary [0, {})", tokens[i], i, c.vocab_size);
  const auto T = static_cast<std::int64_t>(tokens.size());
  if (cache.n_tokens + T > cache.capacity)
    return Error("context full: {} tokens cached + {} new exceed the context of {}", cache.n_tokens,
                 T, cache.capacity);
  WHALE_CHECK(logits.rows() == T && logits.cols() == c.vocab_size, "logits buffer shape");
  return {};
}

Result<std::unique_ptr<Model>> load_model(const std::filesystem::path& path, const LoadOptions& options) {
  WHALE_TRY(ModelFiles files, open_model_files(path));
  WHALE_TRY(ModelConfig config, read_model_config(files, options.moe_groups));
  const int threads = options.n_threads > 0 ? options.n_threads : ThreadPool::default_threads();
  WeightStore store(std::move(files));
  Result<std::unique_ptr<Model>> model =
      config.arch == Arch::kDeepSeek2 ? load_deepseek(std::move(store), std::move(config), threads)
                                      : load_dense(std::move(store), std::move(config), threads);
  if (!model.ok()) return std::move(model).error().context("{}", path.string());
  return model;
}

}  // namespace whale
