// deepseek_model.h — DeepSeek-V2/V3/R1 (GGUF arch "deepseek2"): embed → layers (MLA + dense
// MLP or DeepSeekMoE) → norm → head. Reference: Transformer.forward in DeepSeek-V3's
// inference/model.py.
#pragma once

#include <memory>

#include "model/model.h"
#include "weights/weight_store.h"

namespace whale {

Result<std::unique_ptr<Model>> load_deepseek(WeightStore store, ModelConfig config, int n_threads);

}  // namespace whale
