// quant_recipe.h — the element type each tensor gets for a target file type: the plain types
// and the K-quant mixtures (Q4_K_M, ...). Rules are documented in docs/quantization.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "quant/dtype.h"
#include "util/status.h"

namespace whale {

// Which llama.cpp-style mixture a file type follows; kNone for the plain types.
// kIQ_LOW: the sub-2.1-bit codebook types (IQ2_XXS, IQ1_S, IQ1_M), which share one rule set.
enum class Mixture { kNone, kQ2_K, kQ3_K_S, kQ3_K_M, kQ3_K_L, kQ4_K_S, kQ4_K_M, kQ5_K_S, kQ5_K_M, kIQ_LOW };

struct QuantTarget {
  std::string name;          // canonical spelling ("Q4_K_M", "F16")
  DType base = DType::kF32;  // the type most weight matrices get
  Mixture mixture = Mixture::kNone;
  std::uint32_t file_type = 0;  // llama.cpp's general.file_type code (llama_ftype)
};

// Case-insensitive: "q4_k_m", "Q8_0", "f16". Q3_K/Q4_K/Q5_K mean the _M mixtures, as in
// llama-quantize. Fails with the list of accepted names (and a specific reason for the codebook
// types whale cannot write: IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, ...).
Result<QuantTarget> parse_quant_target(std::string_view name);
std::string quant_target_help();  // "F32 F16 BF16 Q8_0 ... Q5_K_M"

// What the recipe looks at for one tensor.
struct TensorSlot {
  std::string_view name;                // GGUF name ("blk.3.ffn_down_exps.weight")
  std::span<const std::int64_t> shape;  // outermost first; the last is the row width
  std::int64_t n_layers = 0;            // <arch>.block_count (MTP layers included)
  std::int64_t n_gqa = 1;               // query heads per KV head (1 for MLA)
  bool has_output = true;  // false: tied embeddings, token_embd is also the output projection
  std::int64_t n_experts = 0;  // routed experts (0: dense)
};

struct TypeChoice {
  DType dtype = DType::kF32;
  bool fell_back = false;      // the recipe's type did not fit the row width
  DType wanted = DType::kF32;  // the recipe's type before the fallback
};

// `pure`: every weight matrix gets the base type (no mixture bumps, output.weight included);
// tensors that stay F32 and the row-width fallback still apply.
TypeChoice choose_tensor_type(const QuantTarget& target, const TensorSlot& slot, bool pure);

// The type a row of `cols` elements can use instead of `t` when `cols` is not a whole number of
// t's blocks: K-quants step to a 32-element type of similar or more bits, else F16.
DType fallback_type(DType t, std::int64_t cols);

}  // namespace whale
