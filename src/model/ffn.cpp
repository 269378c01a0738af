// ffn.cpp — SwiGLU MLP and the DeepSeekMoE layer.
#include "model/ffn.h"

#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace whale {
void mlp_forward(const MlpWeights& w, Span2D<const float> x, Span2D<float> out, FfnScratch& s,
                 ThreadPool& pool) {
  const std::int64_t t = x.rows(), ffn = w.gate.rows;
  ensure_size(s.gate, static_cast<std::size_t>(t * ffn));
  ensure_size(s.up, static_cast<std::size_t>(t * ffn));
  Span2D<float> g(s.gate.data(), t, ffn), u(s.up.data(), t, ffn);
  matmul(w.gate, x, g, pool);
  matmul(w.up, x, u, pool);
  silu_mul(g, u);
  matmul(w.down, g, out, pool);
}

void moe_forward(const MoeWeights& w, const RoutingParams& routing, Span2D<const float> x,
                 Span2D<float> out, FfnScratch& s, ThreadPool& pool,
                 std::vector<std::int32_t>* chosen) {
  const std::int64_t t = x.rows(), dim = x.cols(), n_exp = routing.n_experts, k = routing.top_k;
  ensure_size(s.router_logits, static_cast<std::size_t>(t * n_exp + 2 * n_exp));
  Span2D<float> logits(s.router_logits.data(), t, n_exp);
  matmul(w.router, x, logits, pool);

  s.expert_ids.resize(static_cast<std::size_t>(t * k));
  s.expert_weights.resize(static_cast<std::size_t>(t * k));
  s.tokens_of_expert.resize(static_cast<std::size_t>(n_exp));
  s.weights_of_expert.resize(static_cast<std::size_t>(n_exp));
  for (auto& v : s.tokens_of_expert) v.clear();
  for (auto& v : s.weights_of_expert) v.clear();
  float* work = s.router_logits.data() + t * n_exp;
  for (std::int64_t i = 0; i < t; ++i) {
    std::int32_t* ids = s.expert_ids.data() + i * k;
    float* wts = s.expert_weights.data() + i * k;
    route_token(logits.row_span(i), w.score_bias, routing, ids, wts, work);
    for (std::int64_t j = 0; j < k; ++j) {
      s.tokens_of_expert[static_cast<std::size_t>(ids[j])].push_back(i);
      s.weights_of_expert[static_cast<std::size_t>(ids[j])].push_back(wts[j]);
    }
  }
  if (chosen != nullptr) *chosen = s.expert_ids;

  // Shared experts first: they see every token and initialise `out`.
  if (!w.shared.empty()) {
    mlp_forward(w.shared, x, out, s, pool);
  } else {
    for (std::int64_t i = 0; i < t; ++i) std::fill_n(out.row(i), dim, 0.0f);
  }
  // Each expert runs once over the tokens routed to it; results are added in expert order, so
  // the sum does not depend on threads.
  ensure_size(s.gathered_in, static_cast<std::size_t>(t * dim));
  ensure_size(s.gathered_out, static_cast<std::size_t>(t * dim));
  for (std::int64_t e = 0; e < n_exp; ++e) {
    const auto& toks = s.tokens_of_expert[static_cast<std::size_t>(e)];
    if (toks.empty()) continue;
    const auto n = static_cast<std::int64_t>(toks.size());
    Span2D<float> in(s.gathered_in.data(), n, dim), res(s.gathered_out.data(), n, dim);
    for (std::int64_t i = 0; i < n; ++i) std::copy_n(x.row(toks[static_cast<std::size_t>(i)]), dim, in.row(i));
    mlp_forward(w.experts[static_cast<std::size_t>(e)], in, res, s, pool);
    const auto& wts = s.weights_of_expert[static_cast<std::size_t>(e)];
    for (std::int64_t i = 0; i < n; ++i)
      axpy(wts[static_cast<std::size_t>(i)], res.row_span(i), out.row_span(toks[static_cast<std::size_t>(i)]));
  }
}

}  // namespace whale
