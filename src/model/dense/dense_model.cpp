// dense_model.cpp — GQA attention + SwiGLU decoder stack for Qwen2 and Llama.
#include "model/dense/dense_model.h"

#include <algorithm>

#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/ffn.h"
#include "model/model_common.h"
#include "model/names.h"
#include "model/rope.h"

namespace whale {
namespace {

struct GqaWeights {
  WeightView wq, wk, wv, wo;          // [H*hd, dim], [KV*hd, dim] x2, [dim, H*hd]
  std::vector<float> bq, bk, bv;      // empty without biases
};

struct DenseLayer {
  std::vector<float> attn_norm, ffn_norm;
  GqaWeights attn;
  MlpWeights mlp;
};

void add_bias(Span2D<float> y, const std::vector<float>& b) {
  if (b.empty()) return;
  for (std::int64_t t = 0; t < y.rows(); ++t)
    for (std::int64_t i = 0; i < y.cols(); ++i) y.row(t)[i] += b[static_cast<std::size_t>(i)];
}


class DenseModel final : public Model {
 public:
  DenseModel(WeightStore store, ModelConfig config, int n_threads)
      : store_(std::move(store)), config_(std::move(config)), pool_(n_threads),
        attention_scratch_(static_cast<std::size_t>(pool_.size())) {}

  Result<void> bind() {
    const ModelConfig& c = config_;
    const ModelFormat f = store_.files().format;
    WHALE_TRY_VOID(bind_head(store_, c, head_));
    // llama.cpp permutes Llama's q/k rows for interleaved RoPE; HF weights use rotate-half.
    const RopeStyle style = f == ModelFormat::kGguf && c.arch == Arch::kLlama ? RopeStyle::kInterleaved
                                                                               : RopeStyle::kNeox;
    const std::string freqs = tensor_name(f, Role::kRopeFreqs);
    if (f == ModelFormat::kGguf && store_.has(freqs)) {
      WHALE_TRY(std::vector<float> factors, store_.vector(freqs, c.head_dim / 2));
      rope_ = RopeCache(make_rope_table(c, c.head_dim, style, std::span<const float>(factors)));
    } else {
      rope_ = RopeCache(make_rope_table(c, c.head_dim, style));
    }
    const std::int64_t dim = c.hidden_size, hd = c.head_dim, H = c.num_attention_heads,
                       KV = c.num_key_value_heads;
    auto bound = bind_layers<DenseLayer>(
        c.num_hidden_layers, [&](std::int64_t l, DenseLayer& layer) -> Result<void> {
          auto name = [&](Role r) { return tensor_name(f, r, l); };
          WHALE_TRY(layer.attn_norm, store_.vector(name(Role::kAttnNorm), dim));
          WHALE_TRY(layer.ffn_norm, store_.vector(name(Role::kFfnNorm), dim));
          WHALE_TRY(layer.attn.wq, store_.matrix(name(Role::kAttnQ), H * hd, dim));
          WHALE_TRY(layer.attn.wk, store_.matrix(name(Role::kAttnK), KV * hd, dim));
          WHALE_TRY(layer.attn.wv, store_.matrix(name(Role::kAttnV), KV * hd, dim));
          WHALE_TRY(layer.attn.wo, store_.matrix(name(Role::kAttnOutput), dim, H * hd));
          if (c.attention_bias) {
            WHALE_TRY(layer.attn.bq, store_.vector(name(Role::kAttnQBias), H * hd));
            WHALE_TRY(layer.attn.bk, store_.vector(name(Role::kAttnKBias), KV * hd));
            WHALE_TRY(layer.attn.bv, store_.vector(name(Role::kAttnVBias), KV * hd));
          }
          WHALE_TRY(layer.mlp, bind_mlp(store_, Role::kFfnGate, Role::kFfnUp, Role::kFfnDown, l,
                                        dim, c.intermediate_size));
          return {};
        });
    if (!bound.ok()) return std::move(bound).error();
    layers_ = std::move(bound).value();
    return {};
  }

  const ModelConfig& config() const override { return config_; }
  std::optional<MappedResidency> weights_residency() const override { return store_.residency(); }

  KvCache new_cache(std::int64_t capacity) const override {
    const std::int64_t w = config_.num_key_value_heads * config_.head_dim;
    return KvCache(config_.num_hidden_layers, capacity, w, w);
  }

  Result<void> forward_batch(std::span<const SeqStep> steps, Span2D<float> logits,
                             const ForwardOptions& options) override {
    WHALE_TRY_VOID(prepare_batch(config_, steps, logits));
    BatchRows& rows = scratch_.rows;
    rows.layout(steps);
    run_decoder(head_, config_, layers_, steps, scratch_, pool_, options, logits,
                [&](std::int64_t l, const DenseLayer& layer, Span2D<const float> normed, Span2D<float> out) {
                  attention(layer.attn, normed, l, steps, rows, out);
                },
                [&](std::int64_t, const DenseLayer& layer, Span2D<const float> normed, Span2D<float> out) {
                  mlp_forward(layer.mlp, normed, out, ffn_scratch_, pool_);
                });
    return {};
  }

 private:
  // Grouped-query attention: query head h reads KV head h / (H / KV). The projections run
  // over every row of the batch; each sequence attends over its own cache.
  void attention(const GqaWeights& w, Span2D<const float> x, std::int64_t layer,
                 std::span<const SeqStep> steps, const BatchRows& rows, Span2D<float> out) {
    const ModelConfig& c = config_;
    const std::int64_t N = x.rows(), H = c.num_attention_heads, KV = c.num_key_value_heads,
                       hd = c.head_dim;
    ensure_size(q_buf_, static_cast<std::size_t>(N * H * hd));
    ensure_size(k_buf_, static_cast<std::size_t>(N * KV * hd));
    ensure_size(v_buf_, static_cast<std::size_t>(N * KV * hd));
    ensure_size(o_buf_, static_cast<std::size_t>(N * H * hd));
    Span2D<float> q(q_buf_.data(), N, H * hd), k(k_buf_.data(), N, KV * hd), v(v_buf_.data(), N, KV * hd);
    const MatmulJob qkv[] = {{&w.wq, x, q}, {&w.wk, x, k}, {&w.wv, x, v}};  // x quantized once
    matmul_batch(qkv, pool_);
    add_bias(q, w.bq);
    add_bias(k, w.bk);
    add_bias(v, w.bv);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      KvCache& cache = *steps[i].cache;
      const std::int64_t r0 = rows.first_row[i], pos0 = cache.n_tokens;
      const auto T = static_cast<std::int64_t>(steps[i].tokens.size());
      rope_.reserve(pos0 + T);
      for (std::int64_t t = 0; t < T; ++t) {
        for (std::int64_t h = 0; h < H; ++h) rope_.apply(pos0 + t, q.row(r0 + t) + h * hd);
        for (std::int64_t h = 0; h < KV; ++h) rope_.apply(pos0 + t, k.row(r0 + t) + h * hd);
        std::copy_n(k.row(r0 + t), KV * hd, cache.k_row(layer, pos0 + t));
        std::copy_n(v.row(r0 + t), KV * hd, cache.v_row(layer, pos0 + t));
      }
    }
    const float scale = static_cast<float>(c.attention_scale());
    const std::int64_t group = H / KV;
    Span2D<float> o(o_buf_.data(), N, H * hd);
    // A prompt's work items are (sequence, head) pairs, the head's query tiles sharing each key
    // loaded. In a decode step (one row per sequence) an item takes a key head's group of query
    // heads instead (split further while items are fewer than threads), so each key loaded
    // serves the group (attend()'s query-lane path). attend() gives each (row, head) the same
    // bits whatever the grouping, the batch or the thread count.
    const auto n_seq = static_cast<std::int64_t>(steps.size());
    bool decode = true;
    for (const SeqStep& step : steps) decode = decode && step.tokens.size() == 1;
    const std::int64_t splits =
        decode ? std::clamp<std::int64_t>((pool_.size() + n_seq * KV - 1) / (n_seq * KV), 1, group) : group;
    pool_.parallel_for(n_seq * KV * splits, [&](RowRange items, int thread) {
      AttentionScratch& as = attention_scratch_[static_cast<std::size_t>(thread)];
      for (std::int64_t item = items.begin; item < items.end; ++item) {
        const auto i = static_cast<std::size_t>(item / (KV * splits));
        const std::int64_t kvh = item / splits % KV, split = item % splits;
        const std::int64_t h0 = kvh * group + group * split / splits, h1 = kvh * group + group * (split + 1) / splits;
        KvCache& cache = *steps[i].cache;
        const std::int64_t r0 = rows.first_row[i], pos0 = cache.n_tokens;
        const auto T = static_cast<std::int64_t>(steps[i].tokens.size());
        as.key_a.resize(static_cast<std::size_t>(pos0 + T));
        as.value.resize(static_cast<std::size_t>(pos0 + T));
        for (std::int64_t p = 0; p < pos0 + T; ++p) {
          as.key_a[static_cast<std::size_t>(p)] = cache.k_row(layer, p) + kvh * hd;
          as.value[static_cast<std::size_t>(p)] = cache.v_row(layer, p) + kvh * hd;
        }
        const AttentionKv kv{pos0 + T, as.key_a.data(), hd, nullptr, 0, as.value.data(), hd};
        if (decode)
          attend(kv, same_keys_queries(as, q.row(r0) + h0 * hd, hd, o.row(r0) + h0 * hd, hd, h1 - h0, pos0 + 1, scale),
                 as);
        else  // h1 = h0 + 1
          attend(kv, causal_queries(as, q.row(r0) + h0 * hd, q.stride(), o.row(r0) + h0 * hd, o.stride(), T, pos0, scale),
                 as);
      }
    });
    matmul(w.wo, o, out, pool_);
  }

  WeightStore store_;
  ModelConfig config_;
  ThreadPool pool_;
  HeadWeights head_;
  RopeCache rope_;
  std::vector<DenseLayer> layers_;
  StepScratch scratch_;
  FfnScratch ffn_scratch_;
  AlignedBuffer<float> q_buf_, k_buf_, v_buf_, o_buf_;
  std::vector<AttentionScratch> attention_scratch_;  // one per pool thread
};

}  // namespace

Result<std::unique_ptr<Model>> load_dense(WeightStore store, ModelConfig config, int n_threads) {
  auto model = std::make_unique<DenseModel>(std::move(store), std::move(config), n_threads);
  WHALE_TRY_VOID(model->bind());
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace whale
