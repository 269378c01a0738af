// gguf_keys.h — GGUF metadata (llama.cpp's key names) for a model read from a Hugging Face
// config: general.*, <arch>.* hyperparameters and sampling defaults. Tokenizer keys are added by
// hf_tokenizer.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/metadata.h"
#include "model/config.h"
#include "util/status.h"

namespace whale {

inline constexpr std::uint32_t kGgmlQuantizationVersion = 2;  // general.quantization_version

// `name` becomes general.name; `file_type` general.file_type (llama_ftype code).
Result<Metadata> gguf_model_metadata(const ModelConfig& c, const std::string& name,
                                     std::uint32_t file_type,
                                     const std::optional<GenerationDefaults>& gen);

// llama.cpp's rope_freqs.weight for a Llama 3 rope_scaling: per frequency pair, the divisor
// that turns the plain frequency into the scaled one. Empty when the config has no llama3 rule.
std::vector<float> llama3_rope_freq_factors(const ModelConfig& c);

}  // namespace whale
