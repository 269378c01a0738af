// hf_tensors.h — the GGUF tensors of a Hugging Face model, each as a recipe for its f32 rows:
// names from model/names.h, DeepSeek's experts stacked into 3-D ffn_*_exps, kv_b split into
// k_b / v_b (MLA layout (c)), Llama's q/k rows permuted to llama.cpp's rotary pairing, FP8
// weights scaled by their 128x128 weight_scale_inv blocks.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "convert/row_encode.h"
#include "format/tensor_directory.h"
#include "model/config.h"
#include "util/status.h"

namespace whale {

struct PlannedTensor {
  std::string name;                 // GGUF name
  std::vector<std::int64_t> shape;  // outermost first
  // Called once, when the tensor is written: returns its row reader. Anything it stages (k_b's
  // transpose) lives in the returned closure and is freed once the tensor is written, so only
  // one tensor is ever held in memory.
  std::function<ReadRowFn(ThreadPool&)> open;
  std::vector<std::span<const std::byte>> inputs;  // the mapped bytes it reads (release_pages)
};

// Plans every GGUF tensor, in llama.cpp's order (globals, then block by block). Fails naming the
// tensor on a shape that does not match the config, a missing FP8 scale, a type without a
// decoder, or an HF tensor that has no GGUF name. The records must outlive the plan.
Result<std::vector<PlannedTensor>> plan_hf_tensors(const TensorDirectory& hf, const ModelConfig& c);

}  // namespace whale
