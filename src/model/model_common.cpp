// model_common.cpp — embedding lookup and the output head.
#include "model/model_common.h"

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/names.h"

namespace whale {

Result<void> bind_head(WeightStore& store, const ModelConfig& c, HeadWeights& h) {
  const ModelFormat f = store.files().format;
  WHALE_TRY(h.token_embd, store.matrix(tensor_name(f, Role::kTokenEmbd), c.vocab_size, c.hidden_size));
  WHALE_TRY(h.output_norm, store.vector(tensor_name(f, Role::kOutputNorm), c.hidden_size));
  const std::string out = tensor_name(f, Role::kOutput);
  // llama.cpp omits output.weight for tied embeddings; HF ties by the config flag.
  if (store.has(out) && !(f == ModelFormat::kSafetensors && c.tie_word_embeddings)) {
    WHALE_TRY(h.output, store.matrix(out, c.vocab_size, c.hidden_size));
  } else if (c.tie_word_embeddings || f == ModelFormat::kGguf) {
    h.output = h.token_embd;
  } else {
    return Error("tensor '{}' is missing and tie_word_embeddings is false", out);
  }
  return {};
}

Result<MlpWeights> bind_mlp(WeightStore& store, Role gate, Role up, Role down, std::int64_t l,
                            std::int64_t dim, std::int64_t ffn, std::int64_t expert) {
  const ModelFormat f = store.files().format;
  MlpWeights m;
  WHALE_TRY(m.gate, store.matrix(tensor_name(f, gate, l, expert), ffn, dim));
  WHALE_TRY(m.up, store.matrix(tensor_name(f, up, l, expert), ffn, dim));
  WHALE_TRY(m.down, store.matrix(tensor_name(f, down, l, expert), dim, ffn));
  return m;
}

void embed_tokens(const HeadWeights& h, std::span<const std::int32_t> tokens, Span2D<float> x) {
  for (std::size_t t = 0; t < tokens.size(); ++t)
    dequantize_weight_row(h.token_embd, tokens[t], x.row(static_cast<std::int64_t>(t)));
}

void compute_logits(const HeadWeights& h, const ModelConfig& c, Span2D<const float> x,
                    Span2D<float> normed, Span2D<float> logits, ThreadPool& pool) {
  rmsnorm(x, h.output_norm, static_cast<float>(c.rms_norm_eps), normed);
  matmul(h.output, normed, logits, pool);
}

}  // namespace whale
