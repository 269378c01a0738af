// mla.h — DeepSeek Multi-head Latent Attention (DeepSeek-V2 §2.1, V3 §2.1.1), in the expanded
// ("naive") and the absorbed form. Reference: MLA.forward in DeepSeek-V3 inference/model.py.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "model/model.h"
#include "model/rope.h"
#include "util/aligned_buffer.h"
#include "util/span2d.h"
#include "util/thread_pool.h"
#include "weights/weight_view.h"

namespace whale {

struct MlaWeights {
  WeightView wq;                 // [H * qk_head, dim] when q_lora_rank == 0
  WeightView wq_a;               // [q_lora, dim]
  std::vector<float> q_a_norm;   // [q_lora]
  WeightView wq_b;               // [H * qk_head, q_lora]
  WeightView wkv_a;              // [kv_lora + rope, dim]
  std::vector<float> kv_a_norm;  // [kv_lora]
  WeightView wkv_b;              // [H * (nope + v), kv_lora]: the expanded form
  std::vector<WeightView> wk_b;  // per head [kv_lora, nope]: W_UK transposed, folded into q
  std::vector<WeightView> wv_b;  // per head [v, kv_lora]: W_UV, applied after attention
  WeightView wo;                 // [dim, H * v]
};

struct MlaScratch {
  AlignedBuffer<float> q_a, q, kv_a, q_latent, o_latent, heads_out, expanded_kv, scores;
};

// x: [T, dim] (already normed); writes [T, dim] to out. Stores each token's latent and roped
// key in cache layer `layer` at positions cache.n_tokens + t (the caller advances n_tokens).
void mla_forward(const MlaWeights& w, const ModelConfig& cfg, const RopeTable& rope,
                 Span2D<const float> x, std::int64_t layer, KvCache& cache, bool absorbed,
                 MlaScratch& s, ThreadPool& pool, Span2D<float> out);

}  // namespace whale
