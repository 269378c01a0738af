// generic_matmul.cpp — AVX2 integer matmul for any layout with a reference unpacker (Q4_0,
// Q4_1, Q5_0, Q5_1, IQ4_NL with Q8_0 activations; Q2_K, Q3_K, Q5_K, IQ4_XS with Q8_K): each
// weight block is unpacked once by the scalar reference into integers (IntBlock) and then
// multiplied with every token of a chunk. Slower than a layout-specific kernel at decode, but
// exactly the contract of kernels/q8_matmul.h.
#include "kernels/q8_matmul_args.h"
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"

namespace whale::avx2 {
namespace {

constexpr std::int64_t kChunkTokens = 32;

void matmul_generic(const Q8MatmulArgs& a) {
  const std::int64_t nb = a.cols / a.block_elems;
  const int n_vec = static_cast<int>(a.block_elems / 32);  // 32-element vectors per block
  const int n_groups = static_cast<int>(a.block_elems / 16);
  alignas(32) __m256 acc[kChunkTokens];
  alignas(16) __m128 mins[kChunkTokens];
  alignas(32) __m256i wq[8], wabs[8], scales[8];
  IntBlock ib;
  for (std::int64_t t0 = 0; t0 < a.n_tokens; t0 += kChunkTokens) {
    const std::int64_t nt = a.n_tokens - t0 < kChunkTokens ? a.n_tokens - t0 : kChunkTokens;
    for (std::int64_t r = a.row_begin; r < a.row_end; ++r) {
      const std::byte* row = a.w + static_cast<std::size_t>(r) * a.w_row_bytes;
      for (std::int64_t t = 0; t < nt; ++t) {
        acc[t] = _mm256_setzero_ps();
        mins[t] = _mm_setzero_ps();
      }
      for (std::int64_t b = 0; b < nb; ++b) {
        a.unpack(row + static_cast<std::size_t>(b) * a.block_bytes, ib);
        for (int v = 0; v < n_vec; ++v) {
          wq[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ib.q + 32 * v));
          wabs[v] = _mm256_sign_epi8(wq[v], wq[v]);
          scales[v] = _mm256_set_m128i(_mm_set1_epi16(ib.sc[2 * v + 1]), _mm_set1_epi16(ib.sc[2 * v]));
        }
        for (std::int64_t t = 0; t < nt; ++t) {
          const std::int64_t tok = t0 + t;
          const std::int8_t* x = a.x_qs + tok * a.cols + b * a.block_elems;
          __m256i lanes = _mm256_setzero_si256();
          for (int v = 0; v < n_vec; ++v) {
            const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 32 * v));
            // Sign onto x: |q| ≤ 128 as u8, x ≠ -128, pairs ≤ 2 · 128 · 127 (no saturation).
            const __m256i pairs = _mm256_maddubs_epi16(wabs[v], _mm256_sign_epi8(xq, wq[v]));
            lanes = _mm256_add_epi32(lanes, _mm256_madd_epi16(pairs, scales[v]));
          }
          const float dx = a.x_d[tok * nb + b];
          acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(ib.d * dx), _mm256_cvtepi32_ps(lanes), acc[t]);
          if (ib.has_min) {
            // Min lanes: lane k sums the 16-element groups 4k..4k+3 (exact int32).
            const std::int16_t* xs = a.x_sums16 + tok * (a.cols / 16) + b * n_groups;
            alignas(16) std::int32_t mi[4] = {0, 0, 0, 0};
            for (int g = 0; g < n_groups; ++g) mi[g / 4] += ib.m[g] * xs[g];
            const __m128i lanes4 = _mm_load_si128(reinterpret_cast<const __m128i*>(mi));
            mins[t] = _mm_fmadd_ps(_mm_set1_ps(ib.dmin * dx), _mm_cvtepi32_ps(lanes4), mins[t]);
          }
        }
      }
      for (std::int64_t t = 0; t < nt; ++t)
        a.y[(t0 + t) * a.y_stride + r] = hsum_f32(acc[t]) + hsum_f32(mins[t]);
    }
  }
}

}  // namespace

void matmul_generic_32(const Q8MatmulArgs& a) { matmul_generic(a); }
void matmul_generic_k(const Q8MatmulArgs& a) { matmul_generic(a); }

}  // namespace whale::avx2
