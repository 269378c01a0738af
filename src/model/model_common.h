// model_common.h — pieces every architecture shares: token embedding, final norm and output
// head, per-step activation buffers.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/ops.h"
#include "model/config.h"
#include "model/model.h"
#include "util/aligned_buffer.h"
#include "util/span2d.h"
#include "util/thread_pool.h"
#include "model/ffn.h"
#include "model/names.h"
#include "weights/weight_store.h"

namespace whale {

struct HeadWeights {
  WeightView token_embd;          // [vocab, dim]
  std::vector<float> output_norm; // [dim]
  WeightView output;              // [vocab, dim]; the embedding when tied
};

Result<void> bind_head(WeightStore& store, const ModelConfig& c, HeadWeights& h);
// A SwiGLU MLP of width `ffn` in layer `l` (expert `expert` for per-expert HF tensors).
Result<MlpWeights> bind_mlp(WeightStore& store, Role gate, Role up, Role down, std::int64_t l,
                            std::int64_t dim, std::int64_t ffn, std::int64_t expert = -1);
void embed_tokens(const HeadWeights& h, std::span<const std::int32_t> tokens, Span2D<float> x);
// logits = output(norm(x)); `normed` is scratch of x's shape.
void compute_logits(const HeadWeights& h, const ModelConfig& c, Span2D<const float> x,
                    Span2D<float> normed, Span2D<float> logits, ThreadPool& pool);

// How a batch's sequences sit in the step's activation rows: sequence i owns rows
// [first_row[i], first_row[i] + steps[i].tokens.size()), in order.
struct BatchRows {
  std::vector<std::int32_t> tokens;     // [N] every sequence's tokens, concatenated
  std::vector<std::int64_t> first_row;  // [n_seq]
  std::vector<std::int64_t> logit_src;  // [logit_rows] the row each logits row comes from
  void layout(std::span<const SeqStep> steps);
  std::int64_t n_rows() const { return static_cast<std::int64_t>(tokens.size()); }
};

// logits = output(norm(x[rows.logit_src])): only the rows asked for go through the head.
// `gathered` and `normed` are scratch of x's shape.
void compute_logits_rows(const HeadWeights& h, const ModelConfig& c, Span2D<const float> x,
                         const BatchRows& rows, Span2D<float> gathered, Span2D<float> normed,
                         Span2D<float> logits, ThreadPool& pool);

// Activation buffers reused across steps; they grow to the largest step seen.
class StepScratch {
 public:
  Span2D<float> hidden(std::int64_t t, std::int64_t dim) { return get(hidden_, t, dim); }
  Span2D<float> normed(std::int64_t t, std::int64_t dim) { return get(normed_, t, dim); }
  Span2D<float> branch(std::int64_t t, std::int64_t dim) { return get(branch_, t, dim); }
  Span2D<float> gathered(std::int64_t t, std::int64_t dim) { return get(gathered_, t, dim); }
  BatchRows rows;

 private:
  static Span2D<float> get(AlignedBuffer<float>& b, std::int64_t t, std::int64_t dim) {
    if (static_cast<std::int64_t>(b.size()) < t * dim) b = AlignedBuffer<float>(static_cast<std::size_t>(t * dim));
    return {b.data(), t, dim};
  }
  AlignedBuffer<float> hidden_, normed_, branch_, gathered_;
};

// Binds layers 0..n-1 with bind(l, layer) -> Result<void>; a failure says which layer.
template <class Layer, class Bind>
Result<std::vector<Layer>> bind_layers(std::int64_t n, Bind bind) {
  std::vector<Layer> layers(static_cast<std::size_t>(n));
  for (std::int64_t l = 0; l < n; ++l) {
    Result<void> bound = bind(l, layers[static_cast<std::size_t>(l)]);
    if (!bound.ok()) return std::move(bound).error().context("layer {}", l);
  }
  return layers;
}

// The pre-norm residual decoder both architectures run (DeepSeek's Transformer.forward with its
// Block.forward; the Qwen2/Llama decoder layer): x = embed(tokens); per layer
// x += attention(attn_norm(x)) and x += ffn(ffn_norm(x)); then the head on the rows asked for.
// `scratch.rows` must already be laid out for `steps`; each Layer has attn_norm and ffn_norm;
// attention(l, layer, normed, out) and ffn(l, layer, normed, out) write their branch into out.
template <class Layer, class Attention, class Ffn>
void run_decoder(const HeadWeights& head, const ModelConfig& c, const std::vector<Layer>& layers,
                 std::span<const SeqStep> steps, StepScratch& scratch, ThreadPool& pool,
                 const ForwardOptions& options, Span2D<float> logits, Attention attention, Ffn ffn) {
  const BatchRows& rows = scratch.rows;
  const std::int64_t N = rows.n_rows();
  Span2D<float> x = scratch.hidden(N, c.hidden_size);        // [N, hidden] residual stream
  Span2D<float> normed = scratch.normed(N, c.hidden_size);
  Span2D<float> branch = scratch.branch(N, c.hidden_size);
  embed_tokens(head, rows.tokens, x);
  const auto eps = static_cast<float>(c.rms_norm_eps);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const Layer& layer = layers[static_cast<std::size_t>(l)];
    rmsnorm(x, layer.attn_norm, eps, normed, pool);
    attention(l, layer, Span2D<const float>(normed), branch);
    add_inplace(x, branch);
    rmsnorm(x, layer.ffn_norm, eps, normed, pool);
    ffn(l, layer, Span2D<const float>(normed), branch);
    add_inplace(x, branch);
    if (options.on_layer) options.on_layer(l, x);
  }
  for (const SeqStep& s : steps) s.cache->n_tokens += static_cast<std::int64_t>(s.tokens.size());
  compute_logits_rows(head, c, x, rows, scratch.gathered(N, c.hidden_size), normed, logits, pool);
}

}  // namespace whale
