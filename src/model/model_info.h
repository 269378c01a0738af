// model_info.h — what `whale info` reports about a model: sizes, parameter counts, layout.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "format/model_files.h"
#include "model/config.h"
#include "util/status.h"

namespace whale {

struct DTypeUsage {
  std::int64_t tensors = 0;
  std::int64_t params = 0;
  std::uint64_t bytes = 0;
};

struct ModelSummary {
  ModelConfig config;
  ModelFormat format = ModelFormat::kGguf;
  std::uint64_t file_bytes = 0;
  std::size_t n_files = 0;
  std::size_t n_tensors = 0;
  std::int64_t total_params = 0;
  std::int64_t active_params = 0;   // per token: all but the routed experts not chosen
  std::int64_t mtp_params = 0;      // tensors of the MTP module(s), included in total_params
  std::map<std::string, DTypeUsage> dtypes;  // by dtype name
  std::string attention;            // e.g. "MLA (q_lora 1536, kv_lora 512, rope 64)"
  std::string experts;              // e.g. "256 routed (8 used, 8 groups/4 kept) + 1 shared"

  // Values stored per token per layer in the KV cache: the MLA latent plus the roped key for
  // DeepSeek, K and V of every KV head otherwise.
  std::int64_t kv_values_per_token_per_layer() const;
  std::uint64_t kv_cache_bytes(std::int64_t n_tokens, std::size_t bytes_per_value) const;
};

Result<ModelSummary> summarize_model(const ModelFiles& files, const ModelConfig& config);

// The configuration of whatever `files` holds (GGUF metadata or config.json).
Result<ModelConfig> read_model_config(const ModelFiles& files,
                                      std::optional<std::pair<int, int>> moe_groups = {});

}  // namespace whale
