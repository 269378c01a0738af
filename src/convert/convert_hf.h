// convert_hf.h — `whale convert`: a Hugging Face safetensors model (single file or shards; F32,
// F16, BF16 or DeepSeek's FP8 release) to one GGUF in llama.cpp's conventions, written tensor
// by tensor so that the model is never held in memory.
#pragma once

#include <filesystem>
#include <string>

#include "convert/convert_report.h"
#include "convert/quant_recipe.h"
#include "util/status.h"

namespace whale {

struct ConvertOptions {
  QuantTarget target;  // F32/F16/BF16/Q8_0 or any quantize type (mixtures included)
  int threads = 0;     // 0: all hardware threads
  bool pure = false;   // see choose_tensor_type
  std::string name;    // general.name; empty: the folder's name
};

Result<ConvertReport> convert_hf_to_gguf(const std::filesystem::path& folder,
                                         const std::filesystem::path& out, const ConvertOptions& o);

}  // namespace whale
