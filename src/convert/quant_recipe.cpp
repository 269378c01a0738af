// quant_recipe.cpp — file-type names and the per-tensor type rules of the K-quant mixtures.
#include "convert/quant_recipe.h"

#include <fmt/format.h>

#include <array>
#include <cctype>

#include "format/tensor_directory.h"
#include "quant/dequantize.h"

namespace whale {
namespace {

struct TargetRow {
  const char* name;
  DType base;
  Mixture mixture;
  std::uint32_t file_type;  // llama_ftype
};

// The accepted names. Aliases (Q3_K, Q4_K, Q5_K -> the _M mixtures) follow llama-quantize.
constexpr std::array kTargets = {
    TargetRow{"F32", DType::kF32, Mixture::kNone, 0},
    TargetRow{"F16", DType::kF16, Mixture::kNone, 1},
    TargetRow{"BF16", DType::kBF16, Mixture::kNone, 32},
    TargetRow{"Q8_0", DType::kQ8_0, Mixture::kNone, 7},
    TargetRow{"Q4_0", DType::kQ4_0, Mixture::kNone, 2},
    TargetRow{"Q4_1", DType::kQ4_1, Mixture::kNone, 3},
    TargetRow{"Q5_0", DType::kQ5_0, Mixture::kNone, 8},
    TargetRow{"Q5_1", DType::kQ5_1, Mixture::kNone, 9},
    TargetRow{"IQ4_NL", DType::kIQ4_NL, Mixture::kNone, 25},
    TargetRow{"IQ4_XS", DType::kIQ4_XS, Mixture::kNone, 30},
    TargetRow{"Q2_K", DType::kQ2_K, Mixture::kQ2_K, 10},
    TargetRow{"Q3_K_S", DType::kQ3_K, Mixture::kQ3_K_S, 11},
    TargetRow{"Q3_K_M", DType::kQ3_K, Mixture::kQ3_K_M, 12},
    TargetRow{"Q3_K", DType::kQ3_K, Mixture::kQ3_K_M, 12},
    TargetRow{"Q3_K_L", DType::kQ3_K, Mixture::kQ3_K_L, 13},
    TargetRow{"Q4_K_S", DType::kQ4_K, Mixture::kQ4_K_S, 14},
    TargetRow{"Q4_K_M", DType::kQ4_K, Mixture::kQ4_K_M, 15},
    TargetRow{"Q4_K", DType::kQ4_K, Mixture::kQ4_K_M, 15},
    TargetRow{"Q5_K_S", DType::kQ5_K, Mixture::kQ5_K_S, 16},
    TargetRow{"Q5_K_M", DType::kQ5_K, Mixture::kQ5_K_M, 17},
    TargetRow{"Q5_K", DType::kQ5_K, Mixture::kQ5_K_M, 17},
    TargetRow{"Q6_K", DType::kQ6_K, Mixture::kNone, 18},
    TargetRow{"IQ2_XXS", DType::kIQ2_XXS, Mixture::kIQ_LOW, 19},
    TargetRow{"IQ1_S", DType::kIQ1_S, Mixture::kIQ_LOW, 24},
    TargetRow{"IQ1_M", DType::kIQ1_M, Mixture::kIQ_LOW, 31},
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The layer subset that gets more bits in the _M mixtures: the first and last eighth, and every
// third layer in between (llama.cpp's use_more_bits).
bool use_more_bits(std::int64_t i, std::int64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

// Tensors that are never quantized: vectors (norms, biases), the router and its bias, rope
// frequency factors. Their size is negligible and routing is discontinuous in them.
bool stays_f32(const TensorSlot& s) {
  if (s.shape.size() < 2) return true;
  return ends_with(s.name, "ffn_gate_inp.weight") || ends_with(s.name, "exp_probs_b.bias") ||
         ends_with(s.name, "rope_freqs.weight");
}

// The value side of attention: attn_v, and MLA's up-projections of the latent (kv_b, or its
// k_b / v_b halves), which every head's keys and values pass through.
bool is_value_path(std::string_view n) {
  return ends_with(n, ".attn_v.weight") || ends_with(n, ".attn_kv_b.weight") ||
         ends_with(n, ".attn_k_b.weight") || ends_with(n, ".attn_v_b.weight");
}

bool is_ffn_down(std::string_view n) {
  return ends_with(n, ".ffn_down.weight") || ends_with(n, ".ffn_down_exps.weight") ||
         ends_with(n, ".ffn_down_shexp.weight");
}

// The mixture's bump for one tensor, before the row-width fallback.
DType mixture_type(const QuantTarget& t, const TensorSlot& s) {
  const DType base = t.base;
  // Without output.weight (tied embeddings) token_embd is the output projection too.
  const bool is_output =
      s.name == "output.weight" || (!s.has_output && s.name == "token_embd.weight");
  if (is_output) {
    if (t.mixture == Mixture::kIQ_LOW) return DType::kQ5_K;
    return base == DType::kQ8_0 ? base : DType::kQ6_K;
  }
  // The input embedding is a lookup (no error accumulates through it): 2-3 bits suffice.
  if (t.mixture == Mixture::kIQ_LOW && s.name == "token_embd.weight")
    return base == DType::kIQ1_M ? DType::kQ3_K : DType::kQ2_K;
  const std::int64_t i = layer_of_tensor(s.name);
  const std::int64_t n = s.n_layers;
  if (i < 0 || n <= 0) return base;
  if (is_value_path(s.name)) {
    switch (t.mixture) {
      case Mixture::kQ2_K:
        return s.n_gqa >= 4 ? DType::kQ4_K : DType::kQ3_K;
      case Mixture::kIQ_LOW:
        return (s.n_gqa >= 4 || s.n_experts >= 4) ? DType::kQ4_K : DType::kQ2_K;
      case Mixture::kQ3_K_M:
        return i < 2 ? DType::kQ5_K : DType::kQ4_K;
      case Mixture::kQ3_K_L:
        return DType::kQ5_K;
      case Mixture::kQ4_K_S:
        return i < 4 ? DType::kQ5_K : base;
      case Mixture::kQ4_K_M:
      case Mixture::kQ5_K_M:
        return use_more_bits(i, n) ? DType::kQ6_K : base;
      default:
        return base;
    }
  }
  if (is_ffn_down(s.name)) {
    switch (t.mixture) {
      case Mixture::kQ2_K:
        return DType::kQ3_K;
      case Mixture::kIQ_LOW:
        return i < n / 8 ? DType::kQ2_K : base;
      case Mixture::kQ3_K_M:
        return i < n / 16 ? DType::kQ5_K : DType::kQ4_K;
      case Mixture::kQ3_K_L:
        return DType::kQ5_K;
      case Mixture::kQ4_K_S:
        return i < n / 8 ? DType::kQ5_K : base;
      case Mixture::kQ4_K_M:
      case Mixture::kQ5_K_M:
        return use_more_bits(i, n) ? DType::kQ6_K : base;
      default:
        return base;
    }
  }
  if (ends_with(s.name, ".attn_output.weight")) {
    if (t.mixture == Mixture::kQ3_K_M) return DType::kQ4_K;
    if (t.mixture == Mixture::kQ3_K_L) return DType::kQ5_K;
  }
  return base;
}

}  // namespace

Result<QuantTarget> parse_quant_target(std::string_view name) {
  const std::string u = upper(name);
  for (const TargetRow& r : kTargets) {
    if (u == r.name) {
      QuantTarget t{r.name, r.base, r.mixture, r.file_type};
      if (!has_quantize(t.base))
        return Error("type '{}': whale has no quantizer for {}", name, dtype_name(t.base));
      return t;
    }
  }
  if (u == "IQ2_XS" || u == "IQ2_S" || u == "IQ2_M" || u == "IQ3_XXS" || u == "IQ3_XS" ||
      u == "IQ3_S" || u == "IQ3_M")
    return Error(
        "type '{}' is not supported: whale reads and writes only the codebook types IQ2_XXS, "
        "IQ1_S and IQ1_M (supported: {})",
        name, quant_target_help());
  return Error("unknown type '{}' (supported: {})", name, quant_target_help());
}

std::string quant_target_help() {
  std::string out;
  for (const TargetRow& r : kTargets) {
    if (!out.empty()) out += ' ';
    out += r.name;
  }
  return out;
}

DType fallback_type(DType t, std::int64_t cols) {
  auto fits = [cols](DType d) { return cols % dtype_traits(d).block_elems == 0; };
  if (fits(t)) return t;
  DType next = DType::kF16;
  switch (t) {
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kIQ4_XS:
    case DType::kIQ2_XXS:
    case DType::kIQ1_S:
    case DType::kIQ1_M:
      next = DType::kIQ4_NL;
      break;
    case DType::kQ4_K:
      next = DType::kQ5_0;
      break;
    case DType::kQ5_K:
      next = DType::kQ5_1;
      break;
    case DType::kQ6_K:
      next = DType::kQ8_0;
      break;
    default:
      break;
  }
  return fits(next) ? next : DType::kF16;
}

TypeChoice choose_tensor_type(const QuantTarget& target, const TensorSlot& slot, bool pure) {
  TypeChoice c;
  if (stays_f32(slot)) {
    c.dtype = c.wanted = DType::kF32;
    return c;
  }
  c.wanted =
      (pure || !dtype_traits(target.base).is_quantized) ? target.base : mixture_type(target, slot);
  const std::int64_t cols = slot.shape.back();
  c.dtype = fallback_type(c.wanted, cols);
  c.fell_back = c.dtype != c.wanted;
  return c;
}

}  // namespace whale
