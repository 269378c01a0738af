// dense_model.h — the R1-Distill architectures: Qwen2 (GQA with q/k/v biases) and Llama 3
// (GQA, llama3 RoPE scaling). Reference: Qwen2ForCausalLM / LlamaForCausalLM in transformers.
#pragma once

#include <memory>

#include "model/model.h"
#include "weights/weight_store.h"

namespace whale {

Result<std::unique_ptr<Model>> load_dense(WeightStore store, ModelConfig config, int n_threads);

}  // namespace whale
