// attention.h — softmax attention of many queries against one head's keys and values: the
// prefill half of the attention layers (dense GQA and MLA's expanded form).
//
// Why a kernel: one dot product and one axpy per (query, key), as decode does, reuses nothing;
// with a 512-token prompt those took a sixth of the 1.5B model's prefill. Here the keys are
// transposed once per call, so each key vector loaded serves a tile of queries and the scores
// come out a vector of keys at a time, and each value row loaded serves the same tile.
#pragma once

#include <cstdint>
#include <vector>

#include "util/aligned_buffer.h"

namespace whale {

// One head's keys and values over positions [0, n_keys). Key p is key_a[p][0, len_a) followed by
// key_b[p][0, len_b) (MLA: the head's own no-RoPE part, then the RoPE part all heads share;
// len_b = 0 and key_b unused otherwise); value p is value[p][0, v_dim).
struct AttentionKv {
  std::int64_t n_keys = 0;
  const float* const* key_a = nullptr;
  std::int64_t len_a = 0;
  const float* const* key_b = nullptr;
  std::int64_t len_b = 0;
  const float* const* value = nullptr;
  std::int64_t v_dim = 0;
};

// Query i (len_a + len_b floats at query[i]) attends to keys [0, n_pos[i]) (1 <= n_pos[i] <=
// n_keys): out[i][0, v_dim) = Σ_p softmax_p(scale · query·key_p) · value_p.
struct AttentionQueries {
  std::int64_t n = 0;
  const float* const* query = nullptr;
  const std::int64_t* n_pos = nullptr;
  float* const* out = nullptr;
  float scale = 1.0f;
};

// What one thread's calls reuse (grown to the largest call, never shrunk): the pointer tables a
// caller fills, and the kernel's working floats.
struct AttentionScratch {
  std::vector<const float*> key_a, key_b, value, query;
  std::vector<float*> out;
  std::vector<std::int64_t> n_pos;
  std::vector<float> joined;  // a caller's contiguous copies of queries it holds in parts
  AlignedBuffer<float> work;
};

// Query rows q0 + t·q_stride (t < n) of a sequence whose step starts at position pos0, each
// attending causally (keys [0, pos0 + t + 1)), outputs at o0 + t·o_stride: fills scratch's query
// tables and returns them.
AttentionQueries causal_queries(AttentionScratch& scratch, const float* q0, std::int64_t q_stride, float* o0,
                                std::int64_t o_stride, std::int64_t n, std::int64_t pos0, float scale);

// Queries q0 + i·q_stride (i < n) that all attend keys [0, n_keys) (one decode step's query
// heads over their shared key head), outputs at o0 + i·o_stride.
AttentionQueries same_keys_queries(AttentionScratch& scratch, const float* q0, std::int64_t q_stride, float* o0,
                                   std::int64_t o_stride, std::int64_t n, std::int64_t n_keys, float scale);

// Each score is one f32 chain over the key's elements in order, each output element one chain
// over the positions in order, and each softmax row is split into vectors the same way whatever
// the tiling: a query's result does not depend on which queries share the call (a decode step
// gives the bits a prompt would). Kernels differ from each other in the last bits (FMA or not,
// vector width in the softmax sums, the exponential: std::exp in the portable kernel, a
// polynomial within 2 ulp of it in the others).
void attend(const AttentionKv& kv, const AttentionQueries& q, AttentionScratch& scratch);

// The kernels by name, for the tests: "portable", "avx2", "avx512" (nullptr where the CPU lacks
// the ISA or the build does not have it).
using AttendFn = void (*)(const AttentionKv&, const AttentionQueries&, float* work);
AttendFn attend_kernel(const char* name);
// Floats of `work` an AttendFn needs for these keys.
std::int64_t attend_work_floats(const AttentionKv& kv);

}  // namespace whale
