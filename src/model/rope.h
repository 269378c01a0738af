// rope.h — rotary position embedding: the per-pair inverse frequencies (default, linear, YaRN,
// llama3 scaling) and their application to a head's rotary slice.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "model/config.h"

namespace whale {

enum class RopeStyle {
  kInterleaved,  // pairs (2i, 2i+1): DeepSeek's reference, llama.cpp's "norm" layout
  kNeox,         // pairs (i, i + d/2): Hugging Face rotate_half (Qwen2, Llama on HF weights)
};

struct RopeTable {
  std::int64_t dims = 0;            // rotary width of one head
  RopeStyle style = RopeStyle::kNeox;
  std::vector<double> inv_freq;     // dims / 2 values
  double cos_sin_scale = 1.0;       // YaRN: mscale(factor, mscale) / mscale(factor, mscale_all_dim)
};

// The frequencies the config defines for a rotary width of `dims`. `freq_factors`, when given
// (a GGUF rope_freqs tensor), divides each frequency instead of the config's llama3 rule.
RopeTable make_rope_table(const ModelConfig& c, std::int64_t dims, RopeStyle style,
                          std::optional<std::span<const float>> freq_factors = std::nullopt);

// Rotates one head's rotary slice `x` (dims values) for position `pos`.
void apply_rope(const RopeTable& t, std::int64_t pos, float* x);

// apply_rope with each position's cos and sin computed once and kept: they were recomputed for
// every head and layer (~25k sin/cos per token on the 1.5B shape: 1.6 % of its prefill's
// samples, on the calling thread while the others waited). 8 · dims bytes per position, under
// 2 % of what a position costs the KV cache. Same bits as apply_rope.
class RopeCache {
 public:
  RopeCache() = default;
  explicit RopeCache(RopeTable table) : table_(std::move(table)) {}

  const RopeTable& table() const { return table_; }
  // Makes positions [0, n) available to apply(); not thread-safe.
  void reserve(std::int64_t n);
  // apply_rope(table(), pos, x); precondition: pos < the largest n reserved.
  void apply(std::int64_t pos, float* x) const;

 private:
  RopeTable table_;
  std::vector<double> cos_sin_;  // [position][pair][cos, sin]
};

}  // namespace whale
