// mla.cpp — Multi-head Latent Attention over a batch of sequences. Shapes: N rows in the step,
// H heads, q/k head = nope + rope, v head, latent = kv_lora_rank; P = positions a sequence
// attends (its cache + this step).
#include "model/deepseek/mla.h"

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace whale {
namespace {

struct Dims {
  std::int64_t H, nope, rope_d, qk, vd, lat;
  float scale;
};

// Expanded form for one segment: per position and head k_nope = W_UK c_kv and v = W_UV c_kv,
// from kv_b ([P, H*(nope+v)], each head's [k_nope | v] side by side) or from the two halves
// ([P, H*nope] then [P, H*v]); the cache is paged, so its latents are gathered into one matrix
// for the products.
void attend_expanded(const MlaWeights& w, const Dims& d, std::int64_t layer, const MlaSegment& seg,
                     Span2D<const float> q, MlaScratch& s, ThreadPool& pool, Span2D<float> heads_out) {
  KvCache& cache = *seg.cache;
  const std::int64_t pos0 = cache.n_tokens, P = pos0 + seg.rows;
  const std::int64_t H = d.H, nope = d.nope, vd = d.vd, lat = d.lat, qk = d.qk;
  ensure_size(s.latents, static_cast<std::size_t>(P * lat));
  Span2D<float> latents(s.latents.data(), P, lat);
  for (std::int64_t p = 0; p < P; ++p) std::copy_n(cache.k_row(layer, p), lat, latents.row(p));
  ensure_size(s.expanded_kv, static_cast<std::size_t>(P * H * (nope + vd)));
  float* const expanded = s.expanded_kv.data();
  // Head h's k_nope and v at position p: expanded + p·row + h·head (+ v_offset for v).
  std::int64_t row, head, v_row, v_head, v_offset;
  if (!w.wkv_b.empty()) {
    matmul(w.wkv_b, latents, Span2D<float>(expanded, P, H * (nope + vd)), pool);
    row = v_row = H * (nope + vd);
    head = v_head = nope + vd;
    v_offset = nope;
  } else {
    const MatmulJob halves[] = {{&w.wk_expand, latents, Span2D<float>(expanded, P, H * nope)},
                                {&w.wv_expand, latents, Span2D<float>(expanded + P * H * nope, P, H * vd)}};
    matmul_batch(halves, pool);
    row = H * nope;
    head = nope;
    v_row = H * vd;
    v_head = vd;
    v_offset = P * H * nope;
  }
  // Keys of head h: its no-RoPE part [P, nope], then the RoPE part every head shares in the
  // cache; values: the head's [P, vd].
  pool.parallel_for(H, [&](RowRange heads, int thread) {
    AttentionScratch& as = s.attention[static_cast<std::size_t>(thread)];
    as.key_a.resize(static_cast<std::size_t>(P));
    as.key_b.resize(static_cast<std::size_t>(P));
    as.value.resize(static_cast<std::size_t>(P));
    for (std::int64_t p = 0; p < P; ++p) as.key_b[static_cast<std::size_t>(p)] = cache.k_row(layer, p) + lat;
    for (std::int64_t h = heads.begin; h < heads.end; ++h) {
      for (std::int64_t p = 0; p < P; ++p) {
        const auto i = static_cast<std::size_t>(p);
        as.key_a[i] = expanded + p * row + h * head;
        as.value[i] = expanded + v_offset + p * v_row + h * v_head;
      }
      const AttentionKv keys{P, as.key_a.data(), nope, as.key_b.data(), d.rope_d, as.value.data(), vd};
      attend(keys,
             causal_queries(as, q.row(seg.row0) + h * qk, q.stride(), heads_out.row(seg.row0) + h * vd,
                            heads_out.stride(), seg.rows, pos0, d.scale),
             as);
    }
  });
}

// Absorbed form for every absorbed segment at once: fold W_UK into the query
// (q_lat = W_UKᵀ q_nope), attend over each sequence's cached latents, then apply W_UV to the
// attended latent. The segments' rows are gathered into A contiguous rows so each per-head
// product reads its weights once for the whole batch.
void attend_absorbed(const MlaWeights& w, const Dims& d, std::int64_t layer,
                     std::span<const MlaSegment> segments, Span2D<const float> q, MlaScratch& s,
                     ThreadPool& pool, Span2D<float> heads_out) {
  const std::int64_t H = d.H, nope = d.nope, vd = d.vd, lat = d.lat, qk = d.qk;
  std::int64_t A = 0;
  std::vector<std::int64_t>& first = s.gathered_first;
  std::vector<std::size_t>& absorbed = s.absorbed_segments;
  first.clear();
  absorbed.clear();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    first.push_back(segments[i].absorbed ? A : -1);
    if (segments[i].absorbed) {
      absorbed.push_back(i);
      A += segments[i].rows;
    }
  }
  if (A == 0) return;
  ensure_size(s.q_absorbed, static_cast<std::size_t>(A * H * qk));
  Span2D<float> qa(s.q_absorbed.data(), A, H * qk);
  for (std::size_t i : absorbed)
    for (std::int64_t t = 0; t < segments[i].rows; ++t)
      std::copy_n(q.row(segments[i].row0 + t), H * qk, qa.row(first[i] + t));
  ensure_size(s.q_latent, static_cast<std::size_t>(A * H * lat));
  ensure_size(s.o_latent, static_cast<std::size_t>(A * H * lat));
  Span2D<float> q_lat(s.q_latent.data(), A, H * lat), o_lat(s.o_latent.data(), A, H * lat);
  s.head_jobs.clear();
  for (std::int64_t h = 0; h < H; ++h)
    s.head_jobs.push_back({&w.wk_b[static_cast<std::size_t>(h)],
                           Span2D<const float>(qa.data() + h * qk, A, nope, H * qk),
                           q_lat.cols_slice(h * lat, lat)});
  matmul_batch(s.head_jobs, pool);
  // Every head of a row attends the same keys, the sequence's cached [latent | RoPE key] rows
  // (values: the latents), so a work item is (segment, group of heads) and attend() shares each
  // key vector it loads among the group's queries. attend() gives each (row, head) the same bits
  // whatever the grouping, so the bits do not depend on the batch or the thread count.
  const std::int64_t groups = std::clamp<std::int64_t>(H / 4, 1, pool.size());
  const auto n_items = static_cast<std::int64_t>(absorbed.size()) * groups;
  pool.parallel_for(n_items, [&](RowRange items, int thread) {
    AttentionScratch& as = s.attention[static_cast<std::size_t>(thread)];
    for (std::int64_t item = items.begin; item < items.end; ++item) {
      const std::size_t i = absorbed[static_cast<std::size_t>(item / groups)];
      const std::int64_t g = item % groups, h0 = H * g / groups, h1 = H * (g + 1) / groups;
      const MlaSegment& seg = segments[i];
      KvCache& cache = *seg.cache;
      const std::int64_t pos0 = cache.n_tokens, P = pos0 + seg.rows;
      as.key_a.resize(static_cast<std::size_t>(P));
      as.key_b.resize(static_cast<std::size_t>(P));
      for (std::int64_t p = 0; p < P; ++p) {
        as.key_a[static_cast<std::size_t>(p)] = cache.k_row(layer, p);
        as.key_b[static_cast<std::size_t>(p)] = cache.k_row(layer, p) + lat;
      }
      // Each query joined as [q_latent | q_rope] (they live in different buffers).
      const std::int64_t n = seg.rows * (h1 - h0);
      as.joined.resize(static_cast<std::size_t>(n * (lat + d.rope_d)));
      as.query.resize(static_cast<std::size_t>(n));
      as.out.resize(static_cast<std::size_t>(n));
      as.n_pos.resize(static_cast<std::size_t>(n));
      std::size_t k = 0;
      for (std::int64_t t = 0; t < seg.rows; ++t)
        for (std::int64_t h = h0; h < h1; ++h, ++k) {
          const std::int64_t r = first[i] + t;
          float* joined = as.joined.data() + k * static_cast<std::size_t>(lat + d.rope_d);
          std::copy_n(q_lat.row(r) + h * lat, lat, joined);
          std::copy_n(qa.row(r) + h * qk + nope, d.rope_d, joined + lat);
          as.query[k] = joined;
          as.out[k] = o_lat.row(r) + h * lat;
          as.n_pos[k] = pos0 + t + 1;
        }
      const AttentionKv keys{P, as.key_a.data(), lat, as.key_b.data(), d.rope_d, as.key_a.data(), lat};
      attend(keys, {n, as.query.data(), as.n_pos.data(), as.out.data(), d.scale}, as);
    }
  });
  ensure_size(s.heads_absorbed, static_cast<std::size_t>(A * H * vd));
  Span2D<float> ho(s.heads_absorbed.data(), A, H * vd);
  s.head_jobs.clear();
  for (std::int64_t h = 0; h < H; ++h)
    s.head_jobs.push_back({&w.wv_b[static_cast<std::size_t>(h)],
                           Span2D<const float>(o_lat.cols_slice(h * lat, lat)), ho.cols_slice(h * vd, vd)});
  matmul_batch(s.head_jobs, pool);
  for (std::size_t i : absorbed)
    for (std::int64_t t = 0; t < segments[i].rows; ++t)
      std::copy_n(ho.row(first[i] + t), H * vd, heads_out.row(segments[i].row0 + t));
}

}  // namespace

void mla_forward(const MlaWeights& w, const ModelConfig& cfg, RopeCache& rope,
                 Span2D<const float> x, std::int64_t layer, std::span<const MlaSegment> segments,
                 MlaScratch& s, ThreadPool& pool, Span2D<float> out) {
  const Dims d{cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim,
               cfg.qk_nope_head_dim + cfg.qk_rope_head_dim, cfg.v_head_dim, cfg.kv_lora_rank,
               static_cast<float>(cfg.attention_scale())};
  const std::int64_t N = x.rows(), H = d.H, nope = d.nope, rope_d = d.rope_d, qk = d.qk, lat = d.lat;
  const auto eps = static_cast<float>(cfg.rms_norm_eps);

  // Queries: q = W_q x, or W_qb · norm(W_qa x) with the low-rank path.   [N, H * qk]
  ensure_size(s.q, static_cast<std::size_t>(N * H * qk));
  Span2D<float> q(s.q.data(), N, H * qk);
  // Latent and decoupled key: kv_a = W_kva x = [c_kv (lat) | k_rope (rope_d)]. Computed in one
  // batch with the product of x that starts the queries (x quantized once, one dispatch).
  ensure_size(s.kv_a, static_cast<std::size_t>(N * (lat + rope_d)));
  Span2D<float> kv_a(s.kv_a.data(), N, lat + rope_d);
  if (cfg.q_lora_rank > 0) {
    ensure_size(s.q_a, static_cast<std::size_t>(N * cfg.q_lora_rank));
    Span2D<float> qa(s.q_a.data(), N, cfg.q_lora_rank);
    const MatmulJob from_x[] = {{&w.wq_a, x, qa}, {&w.wkv_a, x, kv_a}};
    matmul_batch(from_x, pool);
    rmsnorm(qa, w.q_a_norm, eps, qa, pool);
    matmul(w.wq_b, qa, q, pool);
  } else {
    const MatmulJob from_x[] = {{&w.wq, x, q}, {&w.wkv_a, x, kv_a}};
    matmul_batch(from_x, pool);
  }
  for (const MlaSegment& seg : segments) {
    const std::int64_t pos0 = seg.cache->n_tokens;
    rope.reserve(pos0 + seg.rows);
    for (std::int64_t t = 0; t < seg.rows; ++t) {
      const std::int64_t r = seg.row0 + t;
      float* row = seg.cache->k_row(layer, pos0 + t);
      Span2D<float> latent(row, 1, lat);
      rmsnorm(Span2D<const float>(kv_a.row(r), 1, lat), w.kv_a_norm, eps, latent);
      std::copy_n(kv_a.row(r) + lat, rope_d, row + lat);
      rope.apply(pos0 + t, row + lat);
      for (std::int64_t h = 0; h < H; ++h) rope.apply(pos0 + t, q.row(r) + h * qk + nope);
    }
  }

  ensure_size(s.heads_out, static_cast<std::size_t>(N * H * d.vd));
  Span2D<float> heads_out(s.heads_out.data(), N, H * d.vd);
  s.attention.resize(static_cast<std::size_t>(pool.size()));  // attend()'s, one per pool thread
  for (const MlaSegment& seg : segments)
    if (!seg.absorbed) attend_expanded(w, d, layer, seg, q, s, pool, heads_out);
  attend_absorbed(w, d, layer, segments, q, s, pool, heads_out);
  matmul(w.wo, heads_out, out, pool);
}

}  // namespace whale
