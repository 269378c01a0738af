// attention.cpp — attend(): the portable kernel (4-float GCC vectors: SSE2 on x86, NEON on
// AArch64) and the choice of the best kernel the CPU runs.
#include "kernels/attention.h"

#include <cmath>
#include <cstring>

#include "kernels/attention_tile.h"
#include "kernels/cpu_features.h"
#include "util/check.h"

namespace whale {

#if defined(WHALE_HAVE_X86_AVX2)
void attend_avx2(const AttentionKv& kv, const AttentionQueries& q, float* work);
void attend_avx512(const AttentionKv& kv, const AttentionQueries& q, float* work);
#endif

namespace {

struct PortableVec {
  using V = float __attribute__((vector_size(16)));
  static constexpr int kLanes = 4;
  static V zero() { return V{}; }
  static V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(float* p, V v) { std::memcpy(p, &v, sizeof v); }
  static V fmadd(V v, float s, V acc) { return acc + v * s; }
  static float fmadd1(float v, float s, float acc) { return acc + v * s; }
  static V max(V a, V b) { return a > b || a != a ? a : b; }
  static float reduce_max(V v) {
    float m = v[0];
    for (int i = 1; i < kLanes; ++i) m = v[i] > m || v[i] != v[i] ? v[i] : m;
    return m;
  }
  static float reduce_add(V v) { return (v[0] + v[2]) + (v[1] + v[3]); }
  static V sub(V v, float s) { return v - s; }
  static V mul(V v, float s) { return v * s; }
  static V exp(V x) {
    for (int i = 0; i < kLanes; ++i) x[i] = std::exp(x[i]);
    return x;
  }
};

void attend_portable(const AttentionKv& kv, const AttentionQueries& q, float* work) {
  attend_all<PortableVec>(kv, q, work);
}

}  // namespace

AttendFn attend_kernel(const char* name) {
#if defined(WHALE_HAVE_X86_AVX2)
  return kernel_of_set<AttendFn>(name, &attend_portable, &attend_avx2, &attend_avx512);
#else
  return kernel_of_set<AttendFn>(name, &attend_portable, nullptr, nullptr);
#endif
}

namespace {

// Query i (i < n) at q0 + i·q_stride sees keys [0, n_keys + i·step), output at o0 + i·o_stride.
AttentionQueries strided_queries(AttentionScratch& scratch, const float* q0, std::int64_t q_stride, float* o0,
                                 std::int64_t o_stride, std::int64_t n, std::int64_t n_keys, std::int64_t step,
                                 float scale) {
  const auto count = static_cast<std::size_t>(n);
  scratch.query.resize(count);
  scratch.out.resize(count);
  scratch.n_pos.resize(count);
  for (std::int64_t t = 0; t < n; ++t) {
    const auto i = static_cast<std::size_t>(t);
    scratch.query[i] = q0 + t * q_stride;
    scratch.out[i] = o0 + t * o_stride;
    scratch.n_pos[i] = n_keys + t * step;
  }
  return {n, scratch.query.data(), scratch.n_pos.data(), scratch.out.data(), scale};
}

}  // namespace

AttentionQueries causal_queries(AttentionScratch& scratch, const float* q0, std::int64_t q_stride, float* o0,
                                std::int64_t o_stride, std::int64_t n, std::int64_t pos0, float scale) {
  return strided_queries(scratch, q0, q_stride, o0, o_stride, n, pos0 + 1, 1, scale);
}

AttentionQueries same_keys_queries(AttentionScratch& scratch, const float* q0, std::int64_t q_stride, float* o0,
                                   std::int64_t o_stride, std::int64_t n, std::int64_t n_keys, float scale) {
  return strided_queries(scratch, q0, q_stride, o0, o_stride, n, n_keys, 0, scale);
}

std::int64_t attend_work_floats(const AttentionKv& kv) { return work_floats(kv); }

void attend(const AttentionKv& kv, const AttentionQueries& q, AttentionScratch& scratch) {
  static const AttendFn best = [] {
    for (const char* name : {"avx512", "avx2"})
      if (AttendFn f = attend_kernel(name)) return f;
    return attend_kernel("portable");
  }();
  WHALE_CHECK(kv.len_a + kv.len_b > 0 && kv.v_dim > 0);
  const auto need = static_cast<std::size_t>(work_floats(kv));
  if (scratch.work.size() < need) scratch.work = AlignedBuffer<float>(need);
  best(kv, q, scratch.work.data());
}

}  // namespace whale
