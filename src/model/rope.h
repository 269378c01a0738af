// rope.h — rotary position embedding: the per-pair inverse frequencies (default, linear, YaRN,
// llama3 scaling) and their application to a head's rotary slice.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
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

}  // namespace whale
