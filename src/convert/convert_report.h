// convert_report.h — what `whale quantize` / `whale convert` decided per tensor, for the summary
// they print and for tests.
#pragma once

#include <string>
#include <vector>

#include "quant/dtype.h"

namespace whale {

struct TensorDecision {
  std::string name;
  DType from = DType::kF32;    // stored type in the input
  DType to = DType::kF32;      // written type
  DType wanted = DType::kF32;  // the recipe's type before the row-width fallback
  std::int64_t cols = 0;
};

struct ConvertReport {
  std::vector<TensorDecision> tensors;
  std::vector<std::string> notices;  // things the user should know (no tokenizer, ...)
};

// "12 x Q4_K, 3 x Q6_K, 40 x F32" in first-seen order.
std::string summarize_types(const ConvertReport& r);

}  // namespace whale
