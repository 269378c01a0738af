// names.h — the one table that spells tensor names: each weight role's name in GGUF
// (llama.cpp's convention) and in Hugging Face safetensors. No other file spells a name.
#pragma once

#include <cstdint>
#include <string>

#include "format/model_files.h"

namespace whale {

enum class Role {
  kTokenEmbd, kOutputNorm, kOutput, kRopeFreqs,
  // per layer
  kAttnNorm, kFfnNorm,
  kAttnQ, kAttnQBias, kAttnK, kAttnKBias, kAttnV, kAttnVBias, kAttnOutput,
  kAttnQA, kAttnQANorm, kAttnQB, kAttnKvAMqa, kAttnKvANorm, kAttnKvB, kAttnKB, kAttnVB,
  kFfnGate, kFfnUp, kFfnDown,
  kFfnGateInp, kExpProbsBias,
  kFfnGateExps, kFfnUpExps, kFfnDownExps,        // GGUF: all experts in one 3-D tensor
  kExpertGate, kExpertUp, kExpertDown,           // HF: one tensor per expert
  kFfnGateShexp, kFfnUpShexp, kFfnDownShexp,
  // DeepSeek-V3's multi-token-prediction block (a decoder layer after the main ones, plus these)
  kNextnEmbedTokens, kNextnEnorm, kNextnHnorm, kNextnEhProj, kNextnSharedHeadNorm,
  kNextnSharedHeadHead,
};

// The tensor name for `role` in layer `layer` (expert `expert` for the per-expert HF roles).
// Returns "" when the format has no such tensor (e.g. merged experts in HF files).
std::string tensor_name(ModelFormat format, Role role, std::int64_t layer = -1,
                        std::int64_t expert = -1);

// The FP8 inverse-scale tensor that accompanies an HF weight ("<name>_scale_inv").
std::string fp8_scale_name(const std::string& weight_name);

}  // namespace whale
