// ffn.h — the SwiGLU feed-forward network and DeepSeekMoE (routed + shared experts).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/matmul.h"
#include "model/gate.h"
#include "util/aligned_buffer.h"
#include "util/span2d.h"
#include "util/thread_pool.h"
#include "weights/weight_view.h"

namespace whale {

struct MlpWeights {
  WeightView gate, up, down;  // [ffn, dim], [ffn, dim], [dim, ffn]
  bool empty() const { return gate.empty(); }
};

struct MoeWeights {
  WeightView router;                 // [n_experts, dim]
  std::vector<float> score_bias;     // [n_experts] (noaux_tc), else empty
  std::vector<MlpWeights> experts;   // n_experts
  MlpWeights shared;                 // width n_shared * moe_ffn; empty when none
};

// Reusable buffers; grow on demand, so steady-state steps do not allocate.
struct FfnScratch {
  AlignedBuffer<float> gate, up, gathered_in, gathered_out, router_logits;
  AlignedBuffer<float> expert_gate, expert_up;  // routed experts' rows, [T * k, moe_ffn]
  std::vector<std::int32_t> expert_ids;
  std::vector<float> expert_weights;
  std::vector<std::vector<std::int64_t>> tokens_of_expert;
  std::vector<std::vector<float>> weights_of_expert;
  std::vector<MatmulJob> jobs;
};

// DeepSeek-V3 MLP.forward: down(silu(gate(x)) * up(x)). out = x is not allowed.
void mlp_forward(const MlpWeights& w, Span2D<const float> x, Span2D<float> out, FfnScratch& s,
                 ThreadPool& pool);

// DeepSeek-V3 MoE.forward: each token's chosen experts weighted by the gate, plus the shared
// experts. Tokens are grouped by expert so each expert runs one product over its tokens; the
// products of all chosen experts (and the shared experts) run as two batches: gate and up, then
// down.
// `chosen` (optional) receives the expert ids per token, [T * k].
void moe_forward(const MoeWeights& w, const RoutingParams& routing, Span2D<const float> x,
                 Span2D<float> out, FfnScratch& s, ThreadPool& pool,
                 std::vector<std::int32_t>* chosen = nullptr);

}  // namespace whale
