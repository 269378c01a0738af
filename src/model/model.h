// model.h — the Model interface (one forward call per step), the KV cache it fills, and the
// loader that picks the architecture from the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "format/mapped_file.h"
#include "model/config.h"
#include "util/aligned_buffer.h"
#include "util/span2d.h"
#include "util/status.h"

namespace whale {

// Which Multi-head Latent Attention form to use. kAuto: the expanded (naive) form for
// multi-token steps (prefill), the absorbed form over the latent cache for single tokens.
enum class MlaPath { kAuto, kNaive, kAbsorbed };

struct ForwardOptions {
  MlaPath mla_path = MlaPath::kAuto;
  // Called after each decoder layer with the hidden states [T, hidden] (bisection hook).
  std::function<void(std::int64_t layer, Span2D<const float> hidden)> on_layer;
  // Called after each MoE layer with the chosen expert ids, [T * experts_per_token].
  std::function<void(std::int64_t layer, const std::vector<std::int32_t>& experts)> on_experts;
};

// One sequence's cache, in blocks of kKvBlockTokens tokens allocated as the sequence grows
// (so a long --ctx costs memory only when used). For MLA each layer stores, per token, the
// normalised latent (kv_lora_rank) followed by the roped key part (qk_rope_head_dim) in `k`, and
// nothing in `v`; for GQA models `k` and `v` hold every KV head's key and value.
//
// Blocks are reference-counted so the prefix cache can hand one full block of a common prompt
// prefix to many sequences. A shared block is always full and lies below n_tokens, and a
// sequence only writes positions >= n_tokens, so shared blocks are never written.
inline constexpr std::int64_t kKvBlockTokens = 64;

struct KvBlock {  // kKvBlockTokens positions of every layer
  AlignedBuffer<float> k;  // [layer][kKvBlockTokens][k_width]
  AlignedBuffer<float> v;  // [layer][kKvBlockTokens][v_width]
};

class KvCache {
 public:
  KvCache() = default;
  KvCache(std::int64_t n_layers, std::int64_t capacity_tokens, std::int64_t k_w, std::int64_t v_w);
  KvCache(KvCache&&) noexcept = default;
  KvCache& operator=(KvCache&&) noexcept = default;
  KvCache(const KvCache&) = delete;  // blocks would be shared by accident
  KvCache& operator=(const KvCache&) = delete;

  std::int64_t capacity = 0;  // tokens
  std::int64_t n_tokens = 0;  // tokens already processed
  std::int64_t k_width = 0;   // floats per token per layer
  std::int64_t v_width = 0;

  // Makes room for positions [0, n); false when n exceeds the capacity.
  bool reserve(std::int64_t n);
  float* k_row(std::int64_t layer, std::int64_t pos) {
    return block_of(pos).k.data() + (layer * kKvBlockTokens + pos % kKvBlockTokens) * k_width;
  }
  float* v_row(std::int64_t layer, std::int64_t pos) {
    return block_of(pos).v.data() + (layer * kKvBlockTokens + pos % kKvBlockTokens) * v_width;
  }
  // Bytes allocated so far (shared blocks included), and what the full capacity would take.
  std::uint64_t bytes() const;
  std::uint64_t capacity_bytes() const;

  // Prefix sharing. Both only extend a cache whose blocks are all full (n_tokens at a block
  // boundary) and set n_tokens to the new end.
  std::int64_t n_blocks() const { return static_cast<std::int64_t>(blocks_.size()); }
  const std::shared_ptr<KvBlock>& block(std::int64_t i) const { return blocks_[static_cast<std::size_t>(i)]; }
  void append_shared(std::shared_ptr<KvBlock> block);              // a full block, shared
  void append_copy(const KvBlock& block, std::int64_t n_positions);  // its first n positions, copied
  std::uint64_t block_bytes() const;
  std::uint64_t unshared_bytes() const;  // bytes of the blocks only this cache holds

 private:
  KvBlock& block_of(std::int64_t pos) { return *blocks_[static_cast<std::size_t>(pos / kKvBlockTokens)]; }
  std::int64_t n_layers_ = 0;
  std::vector<std::shared_ptr<KvBlock>> blocks_;
};

// One sequence's share of a batched step (Model::forward_batch): its tokens run at positions
// cache->n_tokens, cache->n_tokens + 1, ... against its own cache.
enum class LogitRows : std::uint8_t {
  kNone,  // a prefill chunk that is not the prompt's last: no logits needed
  kLast,  // the last token's logits only (a decode step, a prompt's last chunk)
  kAll,   // every token's logits (perplexity, `whale logits`)
};
struct SeqStep {
  std::span<const std::int32_t> tokens;
  KvCache* cache = nullptr;  // not owned
  LogitRows logits = LogitRows::kLast;
};
// Rows of the logits matrix a batch fills: sequences in order, 0, 1 or tokens.size() each.
std::int64_t logit_rows(std::span<const SeqStep> steps);

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelConfig& config() const = 0;
  virtual KvCache new_cache(std::int64_t capacity_tokens) const = 0;
  // How much of the mapped weight files is in memory now, and in 2 MiB pages
  // (WeightStore::residency); nullopt where that cannot be read.
  virtual std::optional<MappedResidency> weights_residency() const = 0;
  // One step for several sequences, each with its own tokens (1 for decode, a chunk for
  // prefill) and cache: all rows go through the weight matmuls together (weights are read once
  // per step), attention runs per sequence over its own cache, and only the rows asked for go
  // through the output head. logits: [logit_rows(steps), vocab]. Fails (changing no cache) on
  // a token id outside the vocabulary, a cache that would overflow, or a cache given twice.
  virtual Result<void> forward_batch(std::span<const SeqStep> steps, Span2D<float> logits,
                                     const ForwardOptions& options = {}) = 0;
  // The one-sequence case: runs `tokens` at positions cache.n_tokens, cache.n_tokens + 1, ...
  // and writes the logits of every position to `logits` ([tokens.size(), vocab]).
  Result<void> forward(std::span<const std::int32_t> tokens, KvCache& cache, Span2D<float> logits,
                       const ForwardOptions& options = {}) {
    const SeqStep step{tokens, &cache, LogitRows::kAll};
    return forward_batch(std::span(&step, 1), logits, options);
  }
};

struct LoadOptions {
  int n_threads = 0;  // 0: the machine's hardware threads
  std::optional<std::pair<int, int>> moe_groups;  // --moe-groups N,K for old DeepSeek GGUFs
};

// Opens a GGUF file or Hugging Face folder and binds every weight the architecture needs.
Result<std::unique_ptr<Model>> load_model(const std::filesystem::path& path, const LoadOptions& options);

// Checks a batch's inputs against the model and the caches, then makes room in every cache for
// them (shared by the architectures). Nothing changes when it fails.
Result<void> prepare_batch(const ModelConfig& c, std::span<const SeqStep> steps,
                           Span2D<float> logits);

}  // namespace whale
