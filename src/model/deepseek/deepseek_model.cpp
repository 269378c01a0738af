// deepseek_model.cpp — binding DeepSeek weights (both naming schemes, the three GGUF MLA
// layouts) and the decoder stack.
#include "model/deepseek/deepseek_model.h"

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/deepseek/mla.h"
#include "model/ffn.h"
#include "model/model_common.h"
#include "model/names.h"

namespace whale {
namespace {

struct DeepSeekLayer {
  std::vector<float> attn_norm, ffn_norm;
  MlaWeights attn;
  bool is_moe = false;
  MlpWeights mlp;
  MoeWeights moe;
};

// Splits kv_b [H*(nope+v), lat] into the absorbed halves: per head W_UKᵀ [lat, nope]
// (repacked) and W_UV [v, lat] (a view of kv_b's rows).
void split_kv_b(WeightStore& store, const ModelConfig& c, MlaWeights& a) {
  const std::int64_t H = c.num_attention_heads, nope = c.qk_nope_head_dim, vd = c.v_head_dim,
                     lat = c.kv_lora_rank;
  AlignedBuffer<float> kvb = WeightStore::to_f32(a.wkv_b);
  for (std::int64_t h = 0; h < H; ++h) {
    AlignedBuffer<float> kt(static_cast<std::size_t>(lat * nope));
    for (std::int64_t i = 0; i < nope; ++i)
      for (std::int64_t j = 0; j < lat; ++j) kt[static_cast<std::size_t>(j * nope + i)] = kvb[static_cast<std::size_t>((h * (nope + vd) + i) * lat + j)];
    a.wk_b.push_back(store.own(std::move(kt), lat, nope));
    a.wv_b.push_back(a.wkv_b.rows_slice(h * (nope + vd) + nope, vd));
  }
}

// The expanded form's keys for files with only the per-head halves (layouts (b), (c)): W_UK
// [H*nope, lat] in f32, transposed from the heads' W_UKᵀ (a quantized block cannot be
// transposed exactly into another). The values use the file's v_b as it is (one quantized
// matrix [H*v, lat], no copy): rebuilding the whole kv_b in f32 doubled this memory (8 MB per
// V2-Lite layer, 64 MB per V3 layer) and ran the values' product in f32 too.
void rebuild_uk(WeightStore& store, const ModelConfig& c, MlaWeights& a) {
  const std::int64_t H = c.num_attention_heads, nope = c.qk_nope_head_dim, lat = c.kv_lora_rank;
  AlignedBuffer<float> uk(static_cast<std::size_t>(H * nope * lat));
  for (std::int64_t h = 0; h < H; ++h) {
    AlignedBuffer<float> kt = WeightStore::to_f32(a.wk_b[static_cast<std::size_t>(h)]);  // [lat, nope]
    for (std::int64_t i = 0; i < nope; ++i)
      for (std::int64_t j = 0; j < lat; ++j)
        uk[static_cast<std::size_t>((h * nope + i) * lat + j)] = kt[static_cast<std::size_t>(j * nope + i)];
  }
  a.wk_expand = store.own(std::move(uk), H * nope, lat);
}

Result<void> bind_attention(WeightStore& store, const ModelConfig& c, std::int64_t l, MlaWeights& a) {
  const ModelFormat f = store.files().format;
  auto name = [&](Role r) { return tensor_name(f, r, l); };
  const std::int64_t H = c.num_attention_heads, dim = c.hidden_size, qk = c.qk_head_dim(),
                     lat = c.kv_lora_rank, nope = c.qk_nope_head_dim, vd = c.v_head_dim;
  if (c.q_lora_rank > 0) {
    WHALE_TRY(a.wq_a, store.matrix(name(Role::kAttnQA), c.q_lora_rank, dim));
    WHALE_TRY(a.q_a_norm, store.vector(name(Role::kAttnQANorm), c.q_lora_rank));
    WHALE_TRY(a.wq_b, store.matrix(name(Role::kAttnQB), H * qk, c.q_lora_rank));
  } else {
    WHALE_TRY(a.wq, store.matrix(name(Role::kAttnQ), H * qk, dim));
  }
  WHALE_TRY(a.wkv_a, store.matrix(name(Role::kAttnKvAMqa), lat + c.qk_rope_head_dim, dim));
  WHALE_TRY(a.kv_a_norm, store.vector(name(Role::kAttnKvANorm), lat));
  WHALE_TRY(a.wo, store.matrix(name(Role::kAttnOutput), dim, H * vd));

  const bool has_kv_b = store.has(name(Role::kAttnKvB));
  const bool has_halves = f == ModelFormat::kGguf && store.has(name(Role::kAttnKB)) &&
                          store.has(name(Role::kAttnVB));
  if (has_kv_b) {
    WHALE_TRY(a.wkv_b, store.matrix(name(Role::kAttnKvB), H * (nope + vd), lat));
  }
  if (has_halves) {
    // 2-D [H*lat, nope] / [H*vd, lat] (layout b) and 3-D [H, lat, nope] / [H, vd, lat]
    // (layout c) have the same bytes; heads are row slices.
    WHALE_TRY(WeightView kb, store.matrix(name(Role::kAttnKB), H * lat, nope));
    WHALE_TRY(WeightView vb, store.matrix(name(Role::kAttnVB), H * vd, lat));
    for (std::int64_t h = 0; h < H; ++h) {
      a.wk_b.push_back(kb.rows_slice(h * lat, lat));
      a.wv_b.push_back(vb.rows_slice(h * vd, vd));
    }
    if (!has_kv_b) {
      rebuild_uk(store, c, a);
      a.wv_expand = vb;
    }
  } else if (has_kv_b) {
    split_kv_b(store, c, a);
  } else {
    return Error("layer {}: neither '{}' nor '{}' + '{}' are present", l, name(Role::kAttnKvB),
                 name(Role::kAttnKB), name(Role::kAttnVB));
  }
  return {};
}

Result<void> bind_moe(WeightStore& store, const ModelConfig& c, std::int64_t l, MoeWeights& m) {
  const ModelFormat f = store.files().format;
  const std::int64_t dim = c.hidden_size, ffn = c.moe_intermediate_size, n = c.n_routed_experts;
  WHALE_TRY(m.router, store.matrix(tensor_name(f, Role::kFfnGateInp, l), n, dim));
  const std::string bias = tensor_name(f, Role::kExpProbsBias, l);
  if (c.topk_method == TopkMethod::kNoauxTc) {
    if (!store.has(bias))
      return Error("layer {}: noaux_tc routing needs the correction bias '{}'", l, bias);
    WHALE_TRY(m.score_bias, store.vector(bias, n));
  }
  if (f == ModelFormat::kGguf) {
    WHALE_TRY(WeightView g, store.matrix(tensor_name(f, Role::kFfnGateExps, l), n * ffn, dim));
    WHALE_TRY(WeightView u, store.matrix(tensor_name(f, Role::kFfnUpExps, l), n * ffn, dim));
    WHALE_TRY(WeightView d, store.matrix(tensor_name(f, Role::kFfnDownExps, l), n * dim, ffn));
    for (std::int64_t e = 0; e < n; ++e)
      m.experts.push_back({g.rows_slice(e * ffn, ffn), u.rows_slice(e * ffn, ffn), d.rows_slice(e * dim, dim)});
  } else {
    for (std::int64_t e = 0; e < n; ++e) {
      WHALE_TRY(MlpWeights ew, bind_mlp(store, Role::kExpertGate, Role::kExpertUp, Role::kExpertDown, l, dim, ffn, e));
      m.experts.push_back(ew);
    }
  }
  if (c.n_shared_experts > 0) {
    WHALE_TRY(m.shared, bind_mlp(store, Role::kFfnGateShexp, Role::kFfnUpShexp, Role::kFfnDownShexp,
                                 l, dim, c.n_shared_experts * ffn));
  }
  return {};
}

class DeepSeekModel final : public Model {
 public:
  DeepSeekModel(WeightStore store, ModelConfig config, int n_threads)
      : store_(std::move(store)), config_(std::move(config)), pool_(n_threads) {}

  Result<void> bind() {
    const ModelConfig& c = config_;
    WHALE_TRY_VOID(bind_head(store_, c, head_));
    rope_ = RopeCache(make_rope_table(c, c.qk_rope_head_dim, RopeStyle::kInterleaved));
    routing_ = RoutingParams::from_config(c);
    const ModelFormat f = store_.files().format;
    auto bound = bind_layers<DeepSeekLayer>(
        c.num_hidden_layers, [&](std::int64_t l, DeepSeekLayer& layer) -> Result<void> {
          WHALE_TRY(layer.attn_norm,
                    store_.vector(tensor_name(f, Role::kAttnNorm, l), c.hidden_size));
          WHALE_TRY(layer.ffn_norm,
                    store_.vector(tensor_name(f, Role::kFfnNorm, l), c.hidden_size));
          WHALE_TRY_VOID(bind_attention(store_, c, l, layer.attn));
          layer.is_moe = c.is_moe_layer(l);
          if (layer.is_moe) {
            WHALE_TRY_VOID(bind_moe(store_, c, l, layer.moe));
          } else {
            WHALE_TRY(layer.mlp, bind_mlp(store_, Role::kFfnGate, Role::kFfnUp, Role::kFfnDown, l,
                                          c.hidden_size, c.intermediate_size));
          }
          return {};
        });
    if (!bound.ok()) return std::move(bound).error();
    layers_ = std::move(bound).value();
    return {};
  }

  const ModelConfig& config() const override { return config_; }
  std::optional<MappedResidency> weights_residency() const override { return store_.residency(); }

  KvCache new_cache(std::int64_t capacity) const override {
    return KvCache(config_.num_hidden_layers, capacity,
                   config_.kv_lora_rank + config_.qk_rope_head_dim, 0);
  }

  Result<void> forward_batch(std::span<const SeqStep> steps, Span2D<float> logits,
                             const ForwardOptions& options) override {
    WHALE_TRY_VOID(prepare_batch(config_, steps, logits));
    const ModelConfig& c = config_;
    BatchRows& rows = scratch_.rows;
    rows.layout(steps);
    // kAuto: the absorbed form over the latent cache for a sequence's single decode token, the
    // expanded form for its prompt chunks.
    segments_.clear();
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const auto T = static_cast<std::int64_t>(steps[i].tokens.size());
      const bool absorbed = options.mla_path == MlaPath::kAbsorbed ||
                            (options.mla_path == MlaPath::kAuto && T == 1);
      segments_.push_back({rows.first_row[i], T, steps[i].cache, absorbed});
    }
    run_decoder(head_, c, layers_, steps, scratch_, pool_, options, logits,
                [&](std::int64_t l, const DeepSeekLayer& layer, Span2D<const float> normed, Span2D<float> out) {
                  mla_forward(layer.attn, c, rope_, normed, l, segments_, mla_scratch_, pool_, out);
                },
                [&](std::int64_t l, const DeepSeekLayer& layer, Span2D<const float> normed, Span2D<float> out) {
                  if (!layer.is_moe) {
                    mlp_forward(layer.mlp, normed, out, ffn_scratch_, pool_);
                    return;
                  }
                  moe_forward(layer.moe, routing_, normed, out, ffn_scratch_, pool_,
                              options.on_experts ? &chosen_ : nullptr);
                  if (options.on_experts) options.on_experts(l, chosen_);
                });
    return {};
  }

 private:
  WeightStore store_;
  ModelConfig config_;
  ThreadPool pool_;
  HeadWeights head_;
  RopeCache rope_;
  RoutingParams routing_;
  std::vector<DeepSeekLayer> layers_;
  StepScratch scratch_;
  MlaScratch mla_scratch_;
  FfnScratch ffn_scratch_;
  std::vector<std::int32_t> chosen_;
  std::vector<MlaSegment> segments_;
};

}  // namespace

Result<std::unique_ptr<Model>> load_deepseek(WeightStore store, ModelConfig config, int n_threads) {
  auto model = std::make_unique<DeepSeekModel>(std::move(store), std::move(config), n_threads);
  WHALE_TRY_VOID(model->bind());
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace whale
