// attention_tile.h — the body of attend() (attention.h), written once over a vector type and
// compiled per ISA: attention.cpp (portable), x86_avx2/attention.cpp, x86_avx512_vnni/
// attention.cpp. Everything here has internal linkage, and it calls no inline library template,
// so no ISA's code can be merged into another's (tests/kernels/check_isa_symbols.cmake).
//
// Vec provides: V, kLanes, zero(), load(p), store(p, v), fmadd(v, float s, acc) = acc + v·s,
// optionally Narrow (a type with the same six members on narrower vectors),
// fmadd1 (its scalar form), max(a, b), reduce_max(v), reduce_add(v), sub(v, float s),
// mul(v, float s) and exp(v) (e^v for v <= 0; NaN stays NaN), for which the FMA kernels use
// exp_nonpositive (exp_nonpositive.h) with the traits it asks for.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/attention.h"
#include "kernels/exp_nonpositive.h"

namespace whale {
namespace {

constexpr int kQueryTile = 4;  // queries sharing each key and value vector loaded

// Keys of the transposed layout are padded to a multiple of 32: two vectors of the widest ISA,
// so a tile runs 2 × kQueryTile independent FMA chains (enough to hide the FMA latency).
constexpr std::int64_t kKeyPad = 32;
inline std::int64_t padded_keys(std::int64_t n) { return (n + kKeyPad - 1) / kKeyPad * kKeyPad; }

// The keys in panels of kKeyPad: panel j holds keys [32 j, 32 j + 32) as [element][key], so a
// scoring pass walks one panel's elements contiguously (a plain [element][position] layout put
// consecutive elements a whole row of positions apart: one cache line, often one page, per
// element; 576-element MLA keys ran slower than the per-key loop that way). Padding keys p >=
// n_keys are zero.
inline float* panel(float* kt, std::int64_t dim, std::int64_t p) { return kt + p / kKeyPad * dim * kKeyPad + p % kKeyPad; }
inline const float* panel(const float* kt, std::int64_t dim, std::int64_t p) {
  return kt + p / kKeyPad * dim * kKeyPad + p % kKeyPad;
}

// Panel by panel, element by element: the stores run contiguously and each key row is read in
// order (per key, one element every kKeyPad floats of output was 3× slower: a new cache line
// per store).
inline void transpose_keys(const AttentionKv& kv, float* kt, std::int64_t n_pad) {
  const std::int64_t dim = kv.len_a + kv.len_b;
  for (std::int64_t p0 = 0; p0 < n_pad; p0 += kKeyPad) {
    float* k = panel(kt, dim, p0);
    const std::int64_t n = kv.n_keys - p0 < kKeyPad ? kv.n_keys - p0 : kKeyPad;  // real keys
    const float* a[kKeyPad];
    const float* b[kKeyPad];
    for (std::int64_t j = 0; j < n; ++j) {
      a[j] = kv.key_a[p0 + j];
      b[j] = kv.len_b > 0 ? kv.key_b[p0 + j] : nullptr;
    }
    for (std::int64_t d = 0; d < kv.len_a; ++d, k += kKeyPad) {
      for (std::int64_t j = 0; j < n; ++j) k[j] = a[j][d];
      for (std::int64_t j = n; j < kKeyPad; ++j) k[j] = 0.0f;
    }
    for (std::int64_t d = 0; d < kv.len_b; ++d, k += kKeyPad) {
      for (std::int64_t j = 0; j < n; ++j) k[j] = b[j][d];
      for (std::int64_t j = n; j < kKeyPad; ++j) k[j] = 0.0f;
    }
  }
}

// Scores of QT queries against keys [0, n) (n a multiple of 2 · kLanes): s[i][p] =
// scale · Σ_d q_i[d] · k_p[d], d in order.
template <class Vec, int QT>
void tile_scores(const float* const* q, std::int64_t dim, const float* kt, std::int64_t n_pad, std::int64_t n,
                 float scale, float* s) {
  using V = typename Vec::V;
  constexpr int L = Vec::kLanes;
  for (std::int64_t p = 0; p < n; p += 2 * L) {
    V acc[QT][2];
    for (int i = 0; i < QT; ++i) acc[i][0] = acc[i][1] = Vec::zero();
    const float* k = panel(kt, dim, p);
    for (std::int64_t d = 0; d < dim; ++d, k += kKeyPad) {
      const V k0 = Vec::load(k), k1 = Vec::load(k + L);
      for (int i = 0; i < QT; ++i) {
        acc[i][0] = Vec::fmadd(k0, q[i][d], acc[i][0]);
        acc[i][1] = Vec::fmadd(k1, q[i][d], acc[i][1]);
      }
    }
    for (int i = 0; i < QT; ++i) {
      float* row = s + i * n_pad + p;
      Vec::store(row, acc[i][0]);
      Vec::store(row + L, acc[i][1]);
      for (int j = 0; j < 2 * L; ++j) row[j] *= scale;
    }
  }
}

// out_i = Σ_{p < n} w_i[p] · value_p, p in order (w_i[p] = 0 past query i's own keys).
template <class Vec, int QT>
void tile_values(const AttentionKv& kv, const float* w, std::int64_t n_pad, std::int64_t n, float* const* out) {
  using V = typename Vec::V;
  constexpr int L = Vec::kLanes;
  constexpr int kVecs = 4;  // value vectors per pass: QT · kVecs accumulators
  std::int64_t e = 0;
  for (; e + kVecs * L <= kv.v_dim; e += kVecs * L) {
    V acc[QT][kVecs];
    for (int i = 0; i < QT; ++i)
      for (int c = 0; c < kVecs; ++c) acc[i][c] = Vec::zero();
    for (std::int64_t p = 0; p < n; ++p) {
      V v[kVecs];
      for (int c = 0; c < kVecs; ++c) v[c] = Vec::load(kv.value[p] + e + c * L);
      for (int i = 0; i < QT; ++i)
        for (int c = 0; c < kVecs; ++c) acc[i][c] = Vec::fmadd(v[c], w[i * n_pad + p], acc[i][c]);
    }
    for (int i = 0; i < QT; ++i)
      for (int c = 0; c < kVecs; ++c) Vec::store(out[i] + e + c * L, acc[i][c]);
  }
  for (; e < kv.v_dim; ++e)  // the tail, one element at a time, in the same order
    for (int i = 0; i < QT; ++i) {
      float acc = 0.0f;
      for (std::int64_t p = 0; p < n; ++p) acc = Vec::fmadd1(kv.value[p][e], w[i * n_pad + p], acc);
      out[i][e] = acc;
    }
}

// One query's scores without the transposed keys (a decode step: transposing every key for one
// query would cost more than the products): per key the same chain as tile_scores's lanes, 8
// keys side by side so 8 chains hide the FMA latency.
template <class Vec>
void direct_scores(const AttentionKv& kv, const float* q, std::int64_t n, float scale, float* s) {
  constexpr int kKeys = 8;
  const float* qb = q + kv.len_a;
  std::int64_t p = 0;
  for (; p + kKeys <= n; p += kKeys) {
    float acc[kKeys] = {};
    const float* k[kKeys];
    for (int j = 0; j < kKeys; ++j) k[j] = kv.key_a[p + j];
    for (std::int64_t d = 0; d < kv.len_a; ++d)
      for (int j = 0; j < kKeys; ++j) acc[j] = Vec::fmadd1(k[j][d], q[d], acc[j]);
    if (kv.len_b > 0) {
      for (int j = 0; j < kKeys; ++j) k[j] = kv.key_b[p + j];
      for (std::int64_t d = 0; d < kv.len_b; ++d)
        for (int j = 0; j < kKeys; ++j) acc[j] = Vec::fmadd1(k[j][d], qb[d], acc[j]);
    }
    for (int j = 0; j < kKeys; ++j) s[p + j] = acc[j] * scale;
  }
  for (; p < n; ++p) {
    float acc = 0.0f;
    for (std::int64_t d = 0; d < kv.len_a; ++d) acc = Vec::fmadd1(kv.key_a[p][d], q[d], acc);
    for (std::int64_t d = 0; d < kv.len_b; ++d) acc = Vec::fmadd1(kv.key_b[p][d], qb[d], acc);
    s[p] = acc * scale;
  }
}

// Scores of the queries of q, which all see keys [0, n) (one decode step's heads: MLA's share
// one latent cache, a GQA group one key head), kLanes queries at a time in the lanes: per key
// the chain of tile_scores and direct_scores (the same bits), each key element loaded once for
// all the group's queries, and no transposed copy of the keys (which a decode step would make
// for every layer and read once). 8 keys side by side hide the FMA latency. Query i's scores go
// to s[i · n_pad + p]; qt: dim · kLanes floats of scratch.
template <class Vec>
void query_lane_scores(const AttentionKv& kv, const AttentionQueries& q, std::int64_t n, float* s, std::int64_t n_pad,
                       float* qt) {
  using V = typename Vec::V;
  constexpr int L = Vec::kLanes;
  constexpr int kKeys = 8;
  const std::int64_t dim = kv.len_a + kv.len_b;
  const float* qt_b = qt + kv.len_a * L;
  for (std::int64_t i0 = 0; i0 < q.n; i0 += L) {
    const int nq = static_cast<int>(q.n - i0 < L ? q.n - i0 : L);
    for (std::int64_t d = 0; d < dim; ++d)
      for (int i = 0; i < L; ++i) qt[d * L + i] = i < nq ? q.query[i0 + i][d] : 0.0f;
    float* si = s + i0 * n_pad;
    const auto keys = [&](std::int64_t p, auto width) {
      constexpr int K = decltype(width)::value;
      V acc[K];
      const float* k[K];
      for (int j = 0; j < K; ++j) {
        acc[j] = Vec::zero();
        k[j] = kv.key_a[p + j];
      }
      for (std::int64_t d = 0; d < kv.len_a; ++d) {
        const V qd = Vec::load(qt + d * L);
        for (int j = 0; j < K; ++j) acc[j] = Vec::fmadd(qd, k[j][d], acc[j]);
      }
      if (kv.len_b > 0) {
        for (int j = 0; j < K; ++j) k[j] = kv.key_b[p + j];
        for (std::int64_t d = 0; d < kv.len_b; ++d) {
          const V qd = Vec::load(qt_b + d * L);
          for (int j = 0; j < K; ++j) acc[j] = Vec::fmadd(qd, k[j][d], acc[j]);
        }
      }
      for (int j = 0; j < K; ++j) {
        float lanes[L];
        Vec::store(lanes, acc[j]);
        for (int i = 0; i < nq; ++i) si[i * n_pad + p + j] = lanes[i] * q.scale;
      }
    };
    std::int64_t p = 0;
    for (; p + kKeys <= n; p += kKeys) keys(p, std::integral_constant<int, kKeys>{});
    for (; p < n; ++p) keys(p, std::integral_constant<int, 1>{});
  }
}

// softmax over row[0, n) in place (the scores are finite: NaN in, NaN out): the exponentials and
// their sum a vector at a time, the tail one element at a time.
template <class Vec>
void softmax_row(float* row, std::int64_t n) {
  constexpr int L = Vec::kLanes;
  const std::int64_t nv = n / L * L;
  float mx = row[0];
  if (nv > 0) {
    typename Vec::V m = Vec::load(row);
    for (std::int64_t p = L; p < nv; p += L) m = Vec::max(Vec::load(row + p), m);
    mx = Vec::reduce_max(m);
  }
  for (std::int64_t p = nv; p < n; ++p) mx = row[p] > mx || row[p] != row[p] ? row[p] : mx;
  typename Vec::V sum_v = Vec::zero();
  for (std::int64_t p = 0; p < nv; p += L) {
    const typename Vec::V e = Vec::exp(Vec::sub(Vec::load(row + p), mx));
    Vec::store(row + p, e);
    sum_v = sum_v + e;
  }
  float sum = nv > 0 ? Vec::reduce_add(sum_v) : 0.0f;
  for (std::int64_t p = nv; p < n; ++p) sum += (row[p] = std::exp(row[p] - mx));
  const float inv = 1.0f / sum;
  for (std::int64_t p = 0; p < nv; p += L) Vec::store(row + p, Vec::mul(Vec::load(row + p), inv));
  for (std::int64_t p = nv; p < n; ++p) row[p] *= inv;
}

template <class Vec, int QT>
void attend_tile(const AttentionKv& kv, const AttentionQueries& q, std::int64_t first, const float* kt,
                 std::int64_t n_pad, float* s) {
  const std::int64_t dim = kv.len_a + kv.len_b;
  std::int64_t n = 0;  // keys any query of the tile sees
  for (int i = 0; i < QT; ++i) n = q.n_pos[first + i] > n ? q.n_pos[first + i] : n;
  constexpr std::int64_t kPair = 2 * Vec::kLanes;
  if (kt != nullptr)
    tile_scores<Vec, QT>(q.query + first, dim, kt, n_pad, (n + kPair - 1) / kPair * kPair, q.scale, s);
  else
    direct_scores<Vec>(kv, q.query[first], n, q.scale, s);
  for (int i = 0; i < QT; ++i) {
    float* row = s + i * n_pad;
    const std::int64_t own = q.n_pos[first + i];
    softmax_row<Vec>(row, own);
    for (std::int64_t p = own; p < n; ++p) row[p] = 0.0f;
  }
  tile_values<Vec, QT>(kv, s, n_pad, n, q.out + first);
}

inline std::int64_t work_floats(const AttentionKv& kv) {
  return (kv.len_a + kv.len_b + kQueryTile) * padded_keys(kv.n_keys);
}

// work: work_floats(kv) floats: the transposed keys, then a tile's scores.
template <class Vec>
void attend_all(const AttentionKv& kv, const AttentionQueries& q, float* work) {
  const std::int64_t n_pad = padded_keys(kv.n_keys);
  if (q.n == 1) {
    attend_tile<Vec, 1>(kv, q, 0, nullptr, n_pad, work);
    return;
  }
  const std::int64_t dim = kv.len_a + kv.len_b;
  constexpr int L = Vec::kLanes;
  bool same_keys = true;  // a decode step's heads
  for (std::int64_t i = 1; i < q.n; ++i) same_keys = same_keys && q.n_pos[i] == q.n_pos[0];
  if (same_keys && dim * L + q.n * n_pad <= work_floats(kv)) {
    float* s = work + dim * L;
    const std::int64_t n = q.n_pos[0];
    // Vec::Narrow (where the ISA has one: half-width vectors, as many FMAs a cycle) when the
    // queries fit its lanes: a wide vector's idle lanes would cost as much as busy ones.
    if constexpr (requires { typename Vec::Narrow; }) {
      if (q.n <= Vec::Narrow::kLanes)
        query_lane_scores<typename Vec::Narrow>(kv, q, n, s, n_pad, work);
      else
        query_lane_scores<Vec>(kv, q, n, s, n_pad, work);
    } else {
      query_lane_scores<Vec>(kv, q, n, s, n_pad, work);
    }
    for (std::int64_t i = 0; i < q.n; ++i) softmax_row<Vec>(s + i * n_pad, n);
    std::int64_t i = 0;
    for (; i + kQueryTile <= q.n; i += kQueryTile) tile_values<Vec, kQueryTile>(kv, s + i * n_pad, n_pad, n, q.out + i);
    if (i + 2 <= q.n) {  // a GQA group of 6: the values read twice, not three times
      tile_values<Vec, 2>(kv, s + i * n_pad, n_pad, n, q.out + i);
      i += 2;
    }
    for (; i < q.n; ++i) tile_values<Vec, 1>(kv, s + i * n_pad, n_pad, n, q.out + i);
    return;
  }
  float* kt = work;
  float* s = work + dim * n_pad;
  transpose_keys(kv, kt, n_pad);
  std::int64_t i = 0;
  for (; i + kQueryTile <= q.n; i += kQueryTile) attend_tile<Vec, kQueryTile>(kv, q, i, kt, n_pad, s);
  for (; i < q.n; ++i) attend_tile<Vec, 1>(kv, q, i, kt, n_pad, s);
}

}  // namespace
}  // namespace whale
