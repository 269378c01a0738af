// model_common.cpp — embedding lookup and the output head.
#include "model/model_common.h"

#include <algorithm>

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

void BatchRows::layout(std::span<const SeqStep> steps) {
  tokens.clear();
  first_row.clear();
  logit_src.clear();
  for (const SeqStep& s : steps) {
    const auto first = static_cast<std::int64_t>(tokens.size());
    const auto T = static_cast<std::int64_t>(s.tokens.size());
    first_row.push_back(first);
    tokens.insert(tokens.end(), s.tokens.begin(), s.tokens.end());
    if (s.logits == LogitRows::kAll)
      for (std::int64_t t = 0; t < T; ++t) logit_src.push_back(first + t);
    else if (s.logits == LogitRows::kLast)
      logit_src.push_back(first + T - 1);
  }
}

void compute_logits_rows(const HeadWeights& h, const ModelConfig& c, Span2D<const float> x,
                         const BatchRows& rows, Span2D<float> gathered, Span2D<float> normed,
                         Span2D<float> logits, ThreadPool& pool) {
  const auto R = static_cast<std::int64_t>(rows.logit_src.size());
  if (R == 0) return;
  if (R == x.rows()) {  // every row (perplexity, a batch of decodes): no gather
    compute_logits(h, c, x, normed.rows_slice(0, R), logits, pool);
    return;
  }
  for (std::int64_t r = 0; r < R; ++r)
    std::copy_n(x.row(rows.logit_src[static_cast<std::size_t>(r)]), x.cols(), gathered.row(r));
  compute_logits(h, c, gathered.rows_slice(0, R), normed.rows_slice(0, R), logits, pool);
}

void compute_logits(const HeadWeights& h, const ModelConfig& c, Span2D<const float> x,
                    Span2D<float> normed, Span2D<float> logits, ThreadPool& pool) {
  rmsnorm(x, h.output_norm, static_cast<float>(c.rms_norm_eps), normed, pool);
  matmul(h.output, normed, logits, pool);
}

}  // namespace whale
