// mla.cpp — Multi-head Latent Attention. Shapes: H heads, q/k head = nope + rope, v head,
// latent = kv_lora_rank; P = positions attended (cache + this step).
#include "model/deepseek/mla.h"

#include <cmath>

#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace whale {
void mla_forward(const MlaWeights& w, const ModelConfig& cfg, const RopeTable& rope,
                 Span2D<const float> x, std::int64_t layer, KvCache& cache, bool absorbed,
                 MlaScratch& s, ThreadPool& pool, Span2D<float> out) {
  const std::int64_t T = x.rows(), H = cfg.num_attention_heads;
  const std::int64_t nope = cfg.qk_nope_head_dim, rope_d = cfg.qk_rope_head_dim;
  const std::int64_t qk = nope + rope_d, vd = cfg.v_head_dim, lat = cfg.kv_lora_rank;
  const std::int64_t pos0 = cache.n_tokens, P = pos0 + T;
  const float scale = static_cast<float>(cfg.attention_scale());
  const auto eps = static_cast<float>(cfg.rms_norm_eps);

  // Queries: q = W_q x, or W_qb · norm(W_qa x) with the low-rank path.   [T, H * qk]
  ensure_size(s.q, static_cast<std::size_t>(T * H * qk));
  Span2D<float> q(s.q.data(), T, H * qk);
  if (cfg.q_lora_rank > 0) {
    ensure_size(s.q_a, static_cast<std::size_t>(T * cfg.q_lora_rank));
    Span2D<float> qa(s.q_a.data(), T, cfg.q_lora_rank);
    matmul(w.wq_a, x, qa, pool);
    rmsnorm(qa, w.q_a_norm, eps, qa);
    matmul(w.wq_b, qa, q, pool);
  } else {
    matmul(w.wq, x, q, pool);
  }
  // Latent and decoupled key: kv_a = W_kva x = [c_kv (lat) | k_rope (rope_d)].
  ensure_size(s.kv_a, static_cast<std::size_t>(T * (lat + rope_d)));
  Span2D<float> kv_a(s.kv_a.data(), T, lat + rope_d);
  matmul(w.wkv_a, x, kv_a, pool);
  for (std::int64_t t = 0; t < T; ++t) {
    float* row = cache.k_row(layer, pos0 + t);
    Span2D<float> latent(row, 1, lat);
    rmsnorm(Span2D<const float>(kv_a.row(t), 1, lat), w.kv_a_norm, eps, latent);
    std::copy_n(kv_a.row(t) + lat, rope_d, row + lat);
    apply_rope(rope, pos0 + t, row + lat);
    for (std::int64_t h = 0; h < H; ++h) apply_rope(rope, pos0 + t, q.row(t) + h * qk + nope);
  }

  ensure_size(s.heads_out, static_cast<std::size_t>(T * H * vd));
  Span2D<float> heads_out(s.heads_out.data(), T, H * vd);
  ensure_size(s.scores, static_cast<std::size_t>(static_cast<std::int64_t>(pool.size()) * P));

  if (!absorbed) {
    // Expanded form: per position and head [k_nope | v] = W_kvb c_kv.     [P, H * (nope + v)]
    // The cache is paged: gather the latents into one matrix for the product.
    ensure_size(s.latents, static_cast<std::size_t>(P * lat));
    Span2D<float> latents(s.latents.data(), P, lat);
    for (std::int64_t p = 0; p < P; ++p) std::copy_n(cache.k_row(layer, p), lat, latents.row(p));
    ensure_size(s.expanded_kv, static_cast<std::size_t>(P * H * (nope + vd)));
    Span2D<float> kv(s.expanded_kv.data(), P, H * (nope + vd));
    matmul(w.wkv_b, latents, kv, pool);
    pool.parallel_for(H, [&](RowRange heads, int thread) {
      float* sc = s.scores.data() + thread * P;
      for (std::int64_t h = heads.begin; h < heads.end; ++h) {
        for (std::int64_t t = 0; t < T; ++t) {
          const float* qh = q.row(t) + h * qk;
          const std::int64_t n_pos = pos0 + t + 1;  // causal
          for (std::int64_t p = 0; p < n_pos; ++p) {
            const float* kh = kv.row(p) + h * (nope + vd);
            sc[p] = scale * (dot_f32(qh, kh, nope) + dot_f32(qh + nope, cache.k_row(layer, p) + lat, rope_d));
          }
          softmax({sc, static_cast<std::size_t>(n_pos)});
          float* o = heads_out.row(t) + h * vd;
          std::fill_n(o, vd, 0.0f);
          for (std::int64_t p = 0; p < n_pos; ++p)
            axpy(sc[p], {kv.row(p) + h * (nope + vd) + nope, static_cast<std::size_t>(vd)},
                 {o, static_cast<std::size_t>(vd)});
        }
      }
    });
  } else {
    // Absorbed form: fold W_UK into the query (q_lat = W_UKᵀ q_nope), attend over the cached
    // latents, then apply W_UV to the attended latent.
    ensure_size(s.q_latent, static_cast<std::size_t>(T * H * lat));
    ensure_size(s.o_latent, static_cast<std::size_t>(T * H * lat));
    Span2D<float> q_lat(s.q_latent.data(), T, H * lat), o_lat(s.o_latent.data(), T, H * lat);
    for (std::int64_t h = 0; h < H; ++h)
      matmul(w.wk_b[static_cast<std::size_t>(h)], Span2D<const float>(q.data() + h * qk, T, nope, H * qk),
             q_lat.cols_slice(h * lat, lat), pool);
    pool.parallel_for(H, [&](RowRange heads, int thread) {
      float* sc = s.scores.data() + thread * P;
      for (std::int64_t h = heads.begin; h < heads.end; ++h) {
        for (std::int64_t t = 0; t < T; ++t) {
          const float* ql = q_lat.row(t) + h * lat;
          const float* qr = q.row(t) + h * qk + nope;
          const std::int64_t n_pos = pos0 + t + 1;
          for (std::int64_t p = 0; p < n_pos; ++p) {
            const float* c = cache.k_row(layer, p);
            sc[p] = scale * (dot_f32(ql, c, lat) + dot_f32(qr, c + lat, rope_d));
          }
          softmax({sc, static_cast<std::size_t>(n_pos)});
          float* ol = o_lat.row(t) + h * lat;
          std::fill_n(ol, lat, 0.0f);
          for (std::int64_t p = 0; p < n_pos; ++p)
            axpy(sc[p], {cache.k_row(layer, p), static_cast<std::size_t>(lat)}, {ol, static_cast<std::size_t>(lat)});
        }
      }
    });
    for (std::int64_t h = 0; h < H; ++h)
      matmul(w.wv_b[static_cast<std::size_t>(h)], Span2D<const float>(o_lat.cols_slice(h * lat, lat)),
             heads_out.cols_slice(h * vd, vd), pool);
  }
  matmul(w.wo, heads_out, out, pool);
}

}  // namespace whale
