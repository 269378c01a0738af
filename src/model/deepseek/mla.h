// mla.h — DeepSeek Multi-head Latent Attention (DeepSeek-V2 §2.1, V3 §2.1.1), in the expanded
// ("naive") and the absorbed form. Reference: MLA.forward in DeepSeek-V3 inference/model.py.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/attention.h"
#include "kernels/matmul.h"

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
  // The expanded form's [k_nope | v] per head: the file's kv_b in one product, or (files with
  // the per-head halves only) wk_expand, W_UK rebuilt in f32, and wv_expand, the file's v_b.
  WeightView wkv_b;              // [H * (nope + v), kv_lora]
  WeightView wk_expand;          // [H * nope, kv_lora]
  WeightView wv_expand;          // [H * v, kv_lora]
  std::vector<WeightView> wk_b;  // per head [kv_lora, nope]: W_UK transposed, folded into q
  std::vector<WeightView> wv_b;  // per head [v, kv_lora]: W_UV, applied after attention
  WeightView wo;                 // [dim, H * v]
};

struct MlaScratch {
  AlignedBuffer<float> q_a, q, kv_a, q_latent, o_latent, heads_out, latents, expanded_kv;
  AlignedBuffer<float> q_absorbed, heads_absorbed;  // the absorbed segments' rows, gathered
  std::vector<std::int64_t> gathered_first;  // per segment: its first gathered row, or -1
  std::vector<std::size_t> absorbed_segments;
  std::vector<MatmulJob> head_jobs;  // the per-head products, run as one batch
  std::vector<AttentionScratch> attention;  // attend()'s, one per pool thread
};

// One sequence's rows of a batched step: x rows [row0, row0 + rows) run at positions
// cache->n_tokens, ... of its cache, in the absorbed or the expanded form.
struct MlaSegment {
  std::int64_t row0 = 0;
  std::int64_t rows = 0;
  KvCache* cache = nullptr;
  bool absorbed = false;
};

// x: [N, dim] (already normed), the rows of every segment; writes [N, dim] to out. Stores each
// token's latent and roped key in its cache's layer `layer` (the caller advances n_tokens).
// The projections run over all N rows at once; attention runs per segment.
void mla_forward(const MlaWeights& w, const ModelConfig& cfg, RopeCache& rope,
                 Span2D<const float> x, std::int64_t layer, std::span<const MlaSegment> segments,
                 MlaScratch& s, ThreadPool& pool, Span2D<float> out);

}  // namespace whale
