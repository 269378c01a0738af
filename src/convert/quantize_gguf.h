// quantize_gguf.h — `whale quantize`: rewrites a GGUF with new tensor types, tensor by tensor,
// keeping every metadata key (general.file_type and general.quantization_version are set).
#pragma once

#include <filesystem>

#include "convert/convert_report.h"
#include "convert/quant_recipe.h"
#include "util/status.h"

namespace whale {

struct QuantizeOptions {
  QuantTarget target;
  int threads = 0;                // 0: all hardware threads
  bool allow_requantize = false;  // re-encode tensors that are already block-quantized
  bool pure = false;              // no mixture bumps (see choose_tensor_type)
};

// `in` may be the first part of a split GGUF; the output is one file (split.* keys dropped).
// Errors name the file, or the tensor and its type.
Result<ConvertReport> quantize_gguf(const std::filesystem::path& in,
                                    const std::filesystem::path& out, const QuantizeOptions& o);

}  // namespace whale
