// float_row_dot.cpp — AVX2 + FMA + F16C dot products of one stored weight row with f32
// activations: F32, F16, BF16 and Q8_0 rows are widened to their exact f32 values in registers
// (Q8_0: d * q is exact in f32), so results differ from the scalar reference only by the order
// of the f32 additions. Compiled with -mavx2 -mfma -mf16c; called only on CPUs that have them.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/row_dot.h"

namespace whale {
namespace {

float hsum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
  return _mm_cvtss_f32(s);
}

float dot_f32(const std::byte* w, const float* x, std::int64_t n) {
  const auto* wf = reinterpret_cast<const float*>(w);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wf + i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(wf + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(wf + i + 16), _mm256_loadu_ps(x + i + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(wf + i + 24), _mm256_loadu_ps(x + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wf + i), _mm256_loadu_ps(x + i), a0);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; ++i) {
    float wv;
    std::memcpy(&wv, w + 4 * i, 4);
    sum += wv * x[i];
  }
  return sum;
}

__m256 load_f16x8(const std::byte* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
__m256 load_bf16x8(const std::byte* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

template <__m256 (*Load)(const std::byte*), float (*Scalar)(std::uint16_t)>
float dot_half(const std::byte* w, const float* x, std::int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = _mm256_fmadd_ps(Load(w + 2 * i), _mm256_loadu_ps(x + i), a0);
    a1 = _mm256_fmadd_ps(Load(w + 2 * (i + 8)), _mm256_loadu_ps(x + i + 8), a1);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(Load(w + 2 * i), _mm256_loadu_ps(x + i), a0);
  float sum = hsum(_mm256_add_ps(a0, a1));
  for (; i < n; ++i) {
    std::uint16_t h;
    std::memcpy(&h, w + 2 * i, 2);
    sum += Scalar(h) * x[i];
  }
  return sum;
}

float f16_scalar(std::uint16_t h) { return _cvtsh_ss(h); }
float bf16_scalar(std::uint16_t h) {
  const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Q8_0 blocks: f16 d, then 32 int8 q; the weight value is d * q.
float dot_q8_0(const std::byte* w, const float* x, std::int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < n / 32; ++b) {
    const std::byte* blk = w + b * 34;
    std::uint16_t dh;
    std::memcpy(&dh, blk, 2);
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(dh));
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
    const __m128i q_lo = _mm256_castsi256_si128(q), q_hi = _mm256_extracti128_si256(q, 1);
    const float* xb = x + b * 32;
    const __m256 w0 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q_lo)));
    const __m256 w1 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q_lo, 8))));
    const __m256 w2 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q_hi)));
    const __m256 w3 = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q_hi, 8))));
    a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xb), a0);
    a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xb + 8), a1);
    a0 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xb + 16), a0);
    a1 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xb + 24), a1);
  }
  return hsum(_mm256_add_ps(a0, a1));
}

}  // namespace

void avx2_dot2x4_f32(const float* const* w, const float* const* x, std::int64_t n, float* out) {
  // Two weight rows against four activation rows: each weight load feeds four FMAs and each
  // activation load two, and the eight chains hide the FMA latency (one row's four ran one
  // FMA a cycle, latency-bound: 4 % of the V2-Lite shape's prefill went to MLA's f32 W_UK
  // products). Each (row, token) is its own chain, the same whichever row shares the call.
  __m256 a[2][4];
  for (auto& row : a)
    for (auto& acc : row) acc = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 w0 = _mm256_loadu_ps(w[0] + i), w1 = _mm256_loadu_ps(w[1] + i);
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m256 xv = _mm256_loadu_ps(x[k] + i);
      a[0][k] = _mm256_fmadd_ps(w0, xv, a[0][k]);
      a[1][k] = _mm256_fmadd_ps(w1, xv, a[1][k]);
    }
  }
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 4; ++k) {
      float sum = hsum(a[r][k]);
      for (std::int64_t j = i; j < n; ++j) sum += w[r][j] * x[k][j];
      out[4 * r + k] = sum;
    }
}

RowDotFn avx2_row_dot(DType t) {
  switch (t) {
    case DType::kF32: return &dot_f32;
    case DType::kF16: return &dot_half<load_f16x8, f16_scalar>;
    case DType::kBF16: return &dot_half<load_bf16x8, bf16_scalar>;
    case DType::kQ8_0: return &dot_q8_0;
    default: return nullptr;
  }
}

}  // namespace whale
