// hf_tensors.cpp — HF safetensors names and layouts -> GGUF names and layouts.
#include "convert/hf_tensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <set>

#include "convert/gguf_keys.h"
#include "model/names.h"
#include "quant/dequantize.h"

namespace whale {
namespace {

constexpr ModelFormat kHf = ModelFormat::kSafetensors;
constexpr ModelFormat kGguf = ModelFormat::kGguf;

// One HF weight and, for FP8, its inverse scales.
struct Source {
  const TensorRecord* w = nullptr;
  const TensorRecord* scales = nullptr;
  void read(std::int64_t row, float* dst) const { decode_row(*w, scales, row, dst); }
};

// Shared by the planner and the row readers, which outlive it.
using SourcePtr = std::shared_ptr<const Source>;

class Planner {
 public:
  Planner(const TensorDirectory& hf, const ModelConfig& c) : hf_(hf), c_(c) {}

  Result<std::vector<PlannedTensor>> run();

 private:
  // nullptr when absent; fails when present but unusable.
  Result<SourcePtr> find(const std::string& name);
  Result<void> simple(Role role, std::int64_t layer = -1);
  Result<void> permuted(Role role, std::int64_t layer, std::int64_t n_head);
  Result<void> experts(Role hf_role, Role gguf_role, std::int64_t layer);
  Result<void> kv_b(std::int64_t layer);
  void rope_freqs();
  // Records the mapped bytes the last planned tensor reads.
  void note_inputs(std::initializer_list<const Source*> sources);

  const TensorDirectory& hf_;
  const ModelConfig& c_;
  std::set<std::string> used_;
  std::vector<PlannedTensor> out_;
};

void Planner::note_inputs(std::initializer_list<const Source*> sources) {
  for (const Source* s : sources) {
    out_.back().inputs.push_back(s->w->bytes);
    if (s->scales != nullptr) out_.back().inputs.push_back(s->scales->bytes);
  }
}

Result<SourcePtr> Planner::find(const std::string& name) {
  if (name.empty()) return SourcePtr();
  const TensorRecord* w = hf_.find(name);
  if (w == nullptr) return SourcePtr();
  if (!has_dequantize(w->dtype))
    return Error("tensor '{}' has type {}, which whale cannot decode", name, dtype_name(w->dtype));
  if (w->shape.empty()) return Error("tensor '{}' is a scalar", name);
  auto s = std::make_shared<Source>();
  s->w = w;
  used_.insert(name);
  if (w->dtype == DType::kF8_E4M3) {
    const std::string sn = fp8_scale_name(name);
    s->scales = hf_.find(sn);
    if (s->scales == nullptr) return Error("F8_E4M3 tensor '{}' has no '{}'", name, sn);
    WHALE_TRY_VOID(check_fp8_scales(*w, *s->scales));
    used_.insert(sn);
  }
  return SourcePtr(std::move(s));
}

Result<void> Planner::simple(Role role, std::int64_t layer) {
  WHALE_TRY(SourcePtr s, find(tensor_name(kHf, role, layer)));
  if (s == nullptr) return {};
  out_.push_back({tensor_name(kGguf, role, layer), s->w->shape, [s](ThreadPool&) -> ReadRowFn {
                    return [s](std::int64_t r, float* d) { s->read(r, d); };
                  }});
  note_inputs({s.get()});
  return {};
}

// llama.cpp's "llama" rotary pairs dimensions (2i, 2i+1) where Hugging Face pairs (i, i + d/2):
// within each head, GGUF row 2i+j is HF row j*d/2 + i.
Result<void> Planner::permuted(Role role, std::int64_t layer, std::int64_t n_head) {
  WHALE_TRY(SourcePtr s, find(tensor_name(kHf, role, layer)));
  if (s == nullptr) return {};
  const std::int64_t rows = s->w->shape[0];
  if (s->w->shape.size() != 2 || n_head <= 0 || rows % (2 * n_head) != 0)
    return Error("tensor '{}': {} rows do not split into {} heads of even width", s->w->name, rows,
                 n_head);
  const std::int64_t hd = rows / n_head;
  out_.push_back({tensor_name(kGguf, role, layer), s->w->shape, [s, hd](ThreadPool&) -> ReadRowFn {
                    return [s, hd](std::int64_t r, float* d) {
                      const std::int64_t h = r / hd, i = (r % hd) / 2, j = r % 2;
                      s->read(h * hd + j * (hd / 2) + i, d);
                    };
                  }});
  note_inputs({s.get()});
  return {};
}

// HF keeps one [rows, cols] matrix per expert; GGUF stacks them as [n_experts, rows, cols].
Result<void> Planner::experts(Role hf_role, Role gguf_role, std::int64_t layer) {
  std::vector<SourcePtr> parts;
  for (std::int64_t e = 0; e < c_.n_routed_experts; ++e) {
    WHALE_TRY(SourcePtr s, find(tensor_name(kHf, hf_role, layer, e)));
    if (s == nullptr) {
      if (e == 0) return {};  // a dense layer
      return Error("expert {} of layer {} is missing ('{}')", e, layer,
                   tensor_name(kHf, hf_role, layer, e));
    }
    const bool differs = !parts.empty() && s->w->shape != parts[0]->w->shape;
    if (s->w->shape.size() != 2 || differs)
      return Error("tensor '{}' has shape [{}], unlike expert 0", s->w->name,
                   fmt::join(s->w->shape, ", "));
    parts.push_back(s);
  }
  if (parts.empty()) return {};
  const std::int64_t rows = parts[0]->w->shape[0];
  out_.push_back({tensor_name(kGguf, gguf_role, layer),
                  {static_cast<std::int64_t>(parts.size()), rows, parts[0]->w->shape[1]},
                  [parts, rows](ThreadPool&) -> ReadRowFn {
                    return [parts, rows](std::int64_t r, float* d) {
                      parts[static_cast<std::size_t>(r / rows)]->read(r % rows, d);
                    };
                  }});
  for (const SourcePtr& p : parts) note_inputs({p.get()});
  return {};
}

// kv_b_proj [H*(nope+v), kv_lora] -> attn_k_b [H, kv_lora, nope] (each head's W_UK transposed,
// so the absorbed query is q_nope·W_UK) and attn_v_b [H, v, kv_lora] (each head's W_UV).
Result<void> Planner::kv_b(std::int64_t layer) {
  WHALE_TRY(SourcePtr s, find(tensor_name(kHf, Role::kAttnKvB, layer)));
  if (s == nullptr) return {};
  const std::int64_t H = c_.num_attention_heads, nope = c_.qk_nope_head_dim, vd = c_.v_head_dim,
                     lora = c_.kv_lora_rank, per = nope + vd;
  if (s->w->shape != std::vector<std::int64_t>{H * per, lora})
    return Error("tensor '{}' has shape [{}], expected [{}, {}] from config.json", s->w->name,
                 fmt::join(s->w->shape, ", "), H * per, lora);
  out_.push_back({tensor_name(kGguf, Role::kAttnKB, layer),
                  {H, lora, nope},
                  [s, H, per, nope, lora](ThreadPool& pool) -> ReadRowFn {
                    // The transpose needs whole heads: stage this one tensor in f32.
                    auto staged = std::make_shared<std::vector<float>>(
                        static_cast<std::size_t>(H * per * lora));
                    pool.parallel_for(H * per, [&](RowRange rr, int) {
                      for (std::int64_t r = rr.begin; r < rr.end; ++r)
                        s->read(r, staged->data() + r * lora);
                    });
                    return [staged, per, nope, lora](std::int64_t r, float* d) {
                      const std::int64_t h = r / lora, ci = r % lora;
                      for (std::int64_t n = 0; n < nope; ++n)
                        d[n] = (*staged)[static_cast<std::size_t>((h * per + n) * lora + ci)];
                    };
                  }});
  out_.push_back({tensor_name(kGguf, Role::kAttnVB, layer),
                  {H, vd, lora},
                  [s, per, nope, vd](ThreadPool&) -> ReadRowFn {
                    return [s, per, nope, vd](std::int64_t r, float* d) {
                      s->read((r / vd) * per + nope + r % vd, d);
                    };
                  }});
  note_inputs({s.get()});  // after v_b, the second reader of kv_b
  return {};
}

void Planner::rope_freqs() {
  auto factors = std::make_shared<std::vector<float>>(llama3_rope_freq_factors(c_));
  if (factors->empty()) return;
  out_.push_back({tensor_name(kGguf, Role::kRopeFreqs),
                  {static_cast<std::int64_t>(factors->size())},
                  [factors](ThreadPool&) -> ReadRowFn {
                    return [factors](std::int64_t, float* d) {
                      std::copy(factors->begin(), factors->end(), d);
                    };
                  }});
}

Result<std::vector<PlannedTensor>> Planner::run() {
  WHALE_TRY_VOID(simple(Role::kTokenEmbd));
  WHALE_TRY_VOID(simple(Role::kOutputNorm));
  WHALE_TRY_VOID(simple(Role::kOutput));
  rope_freqs();
  const bool llama = c_.arch == Arch::kLlama;
  const std::int64_t n_blocks = c_.num_hidden_layers + c_.num_nextn_predict_layers;
  for (std::int64_t l = 0; l < n_blocks; ++l) {
    for (Role r : {Role::kAttnNorm, Role::kAttnQA, Role::kAttnQANorm, Role::kAttnQB})
      WHALE_TRY_VOID(simple(r, l));
    if (llama) {
      WHALE_TRY_VOID(permuted(Role::kAttnQ, l, c_.num_attention_heads));
      WHALE_TRY_VOID(permuted(Role::kAttnK, l, c_.num_key_value_heads));
    } else {
      WHALE_TRY_VOID(simple(Role::kAttnQ, l));
      WHALE_TRY_VOID(simple(Role::kAttnK, l));
    }
    for (Role r : {Role::kAttnQBias, Role::kAttnKBias, Role::kAttnV, Role::kAttnVBias,
                   Role::kAttnKvAMqa, Role::kAttnKvANorm})
      WHALE_TRY_VOID(simple(r, l));
    WHALE_TRY_VOID(kv_b(l));
    for (Role r : {Role::kAttnOutput, Role::kFfnNorm, Role::kFfnGate, Role::kFfnUp, Role::kFfnDown,
                   Role::kFfnGateInp, Role::kExpProbsBias})
      WHALE_TRY_VOID(simple(r, l));
    WHALE_TRY_VOID(experts(Role::kExpertGate, Role::kFfnGateExps, l));
    WHALE_TRY_VOID(experts(Role::kExpertUp, Role::kFfnUpExps, l));
    WHALE_TRY_VOID(experts(Role::kExpertDown, Role::kFfnDownExps, l));
    for (Role r : {Role::kFfnGateShexp, Role::kFfnUpShexp, Role::kFfnDownShexp,
                   Role::kNextnEmbedTokens, Role::kNextnEnorm, Role::kNextnHnorm,
                   Role::kNextnEhProj, Role::kNextnSharedHeadNorm, Role::kNextnSharedHeadHead})
      WHALE_TRY_VOID(simple(r, l));
  }
  for (const TensorRecord& t : hf_.all()) {
    if (used_.count(t.name) != 0) continue;
    // Precomputed rotary tables some checkpoints carry; GGUF recomputes them.
    if (t.name.find("rotary_emb.inv_freq") != std::string::npos) continue;
    return Error(
        "tensor '{}' has no GGUF counterpart (layer beyond block_count {}, or an "
        "unsupported module)",
        t.name, n_blocks);
  }
  return std::move(out_);
}

}  // namespace

Result<std::vector<PlannedTensor>> plan_hf_tensors(const TensorDirectory& hf,
                                                   const ModelConfig& c) {
  Planner p(hf, c);
  return p.run();
}

}  // namespace whale
