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
  const MatmulJob gate_up[] = {{&w.gate, x, g}, {&w.up, x, u}};  // x quantized once, one dispatch
  matmul_batch(gate_up, pool);
  silu_mul(g, u, pool);
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

  // The tokens of each chosen expert, gathered into consecutive rows (expert order).
  std::int64_t routed_rows = 0;
  for (const auto& toks : s.tokens_of_expert) routed_rows += static_cast<std::int64_t>(toks.size());
  const std::int64_t ffn = routing.n_experts > 0 ? w.experts.front().gate.rows : 0;
  ensure_size(s.gathered_in, static_cast<std::size_t>(routed_rows * dim));
  ensure_size(s.gathered_out, static_cast<std::size_t>(routed_rows * dim));
  ensure_size(s.expert_gate, static_cast<std::size_t>(routed_rows * ffn));
  ensure_size(s.expert_up, static_cast<std::size_t>(routed_rows * ffn));
  Span2D<float> in_all(s.gathered_in.data(), routed_rows, dim), res_all(s.gathered_out.data(), routed_rows, dim);
  Span2D<float> g_all(s.expert_gate.data(), routed_rows, ffn), u_all(s.expert_up.data(), routed_rows, ffn);
  {
    std::int64_t row = 0;
    for (const auto& toks : s.tokens_of_expert)
      for (const std::int64_t tok : toks) std::copy_n(x.row(tok), dim, in_all.row(row++));
  }
  const bool shared = !w.shared.empty();
  const std::int64_t shared_ffn = shared ? w.shared.gate.rows : 0;
  if (shared) {
    ensure_size(s.gate, static_cast<std::size_t>(t * shared_ffn));
    ensure_size(s.up, static_cast<std::size_t>(t * shared_ffn));
  }
  Span2D<float> sg(s.gate.data(), t, shared_ffn), su(s.up.data(), t, shared_ffn);

  // Batch 1: gate and up of the shared experts and of every chosen expert.
  s.jobs.clear();
  if (shared) {
    s.jobs.push_back({&w.shared.gate, x, sg});
    s.jobs.push_back({&w.shared.up, x, su});
  }
  for (std::int64_t e = 0, row = 0; e < n_exp; ++e) {
    const auto n = static_cast<std::int64_t>(s.tokens_of_expert[static_cast<std::size_t>(e)].size());
    if (n == 0) continue;
    const MlpWeights& ex = w.experts[static_cast<std::size_t>(e)];
    s.jobs.push_back({&ex.gate, in_all.rows_slice(row, n), g_all.rows_slice(row, n)});
    s.jobs.push_back({&ex.up, in_all.rows_slice(row, n), u_all.rows_slice(row, n)});
    row += n;
  }
  matmul_batch(s.jobs, pool);
  if (shared) silu_mul(sg, su, pool);
  silu_mul(g_all, u_all, pool);

  // Batch 2: the down projections; the shared experts' initialise `out`.
  s.jobs.clear();
  if (shared) s.jobs.push_back({&w.shared.down, sg, out});
  for (std::int64_t e = 0, row = 0; e < n_exp; ++e) {
    const auto n = static_cast<std::int64_t>(s.tokens_of_expert[static_cast<std::size_t>(e)].size());
    if (n == 0) continue;
    s.jobs.push_back({&w.experts[static_cast<std::size_t>(e)].down, g_all.rows_slice(row, n), res_all.rows_slice(row, n)});
    row += n;
  }
  matmul_batch(s.jobs, pool);
  if (!shared)
    for (std::int64_t i = 0; i < t; ++i) std::fill_n(out.row(i), dim, 0.0f);

  // Results are added in expert order, so the sum does not depend on threads or batching.
  for (std::int64_t e = 0, row = 0; e < n_exp; ++e) {
    const auto& toks = s.tokens_of_expert[static_cast<std::size_t>(e)];
    const auto& wts = s.weights_of_expert[static_cast<std::size_t>(e)];
    for (std::size_t i = 0; i < toks.size(); ++i, ++row)
      axpy(wts[i], res_all.row_span(row), out.row_span(toks[i]));
  }
}

}  // namespace whale
