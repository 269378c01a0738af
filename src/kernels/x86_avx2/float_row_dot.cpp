// float_row_dot.cpp — AVX2 + FMA + F16C dot products of one stored weight row with f32
// activations: F32, F16, BF16 and Q8_0 rows are widened to their exact f32 values in registers
// (Q8_0: d * q is exact in f32), so results differ from the scalar reference only by the order
// of the f32 additions. Compiled with -mavx2 -mfma -mf16c; called only on CPUs that have them.
#include <immintrin.h>

#include <cmath>
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

// Eight consecutive weights from element i of a stored row, widened to f32.
__m256 f32x8(const std::byte* w, std::int64_t i) { return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + i); }
__m256 f16x8(const std::byte* w, std::int64_t i) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * i)));
}
__m256 bf16x8(const std::byte* w, std::int64_t i) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * i)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
float f32_at(const std::byte* w, std::int64_t i) {
  float f;
  std::memcpy(&f, w + 4 * i, 4);
  return f;
}
float f16_at(const std::byte* w, std::int64_t i) {
  std::uint16_t h;
  std::memcpy(&h, w + 2 * i, 2);
  return _cvtsh_ss(h);
}
float bf16_at(const std::byte* w, std::int64_t i) {
  std::uint16_t h;
  std::memcpy(&h, w + 2 * i, 2);
  const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Every f32 dot product in this file (the row dots and dot2x3) adds in one order, so that a
// token's result does not depend on how many tokens share its matmul (decode's row dots, the
// prefill's 3-token groups and their tail): elements 16k..16k+7 go into a first 8-lane chain
// and 16k+8..16k+15 into a second, a last whole 8 into the first, then hsum(first + second),
// then the scalar tail in order (std::fma: the same rounding whatever the compiler contracts).
// Alternate 8s keep one sequential stream per row: contiguous halves, which would let a
// prefill kernel run each half as one pass, made the streaming decode 2x slower. (The row dots
// had four and two chains and the prefill kernel one: a float model's logits changed in the
// last bits with a token's place in its batch.)
constexpr std::int64_t whole16(std::int64_t n) { return n / 16 * 16; }
constexpr std::int64_t tail_start(std::int64_t n) { return whole16(n) + 8 <= n ? whole16(n) + 8 : whole16(n); }

template <__m256 (*Load8)(const std::byte*, std::int64_t), float (*At)(const std::byte*, std::int64_t)>
float dot_row(const std::byte* w, const float* x, std::int64_t n) {
  __m256 first = _mm256_setzero_ps(), second = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i < whole16(n); i += 16) {
    first = _mm256_fmadd_ps(Load8(w, i), _mm256_loadu_ps(x + i), first);
    second = _mm256_fmadd_ps(Load8(w, i + 8), _mm256_loadu_ps(x + i + 8), second);
  }
  if (i + 8 <= n) first = _mm256_fmadd_ps(Load8(w, i), _mm256_loadu_ps(x + i), first);
  float sum = hsum(_mm256_add_ps(first, second));
  for (std::int64_t j = tail_start(n); j < n; ++j) sum = std::fma(At(w, j), x[j], sum);
  return sum;
}

// Q8_0 blocks: f16 d, then 32 int8 q; the weight value is d * q (exact in f32). n is a multiple
// of 32; a block's four 8s go to the first, second, first and second chain: dot_row's order,
// with the scale loaded once per block.
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

// Eight elements from i of two weight rows against three tokens, into one chain each.
[[gnu::always_inline]] inline void step_2x3(const float* const* w, const float* const* x, std::int64_t i,
                                            __m256 (&acc)[2][3]) {
  const __m256 w0 = _mm256_loadu_ps(w[0] + i), w1 = _mm256_loadu_ps(w[1] + i);
#pragma GCC unroll 3
  for (int k = 0; k < 3; ++k) {
    const __m256 xv = _mm256_loadu_ps(x[k] + i);
    acc[0][k] = _mm256_fmadd_ps(w0, xv, acc[0][k]);
    acc[1][k] = _mm256_fmadd_ps(w1, xv, acc[1][k]);
  }
}

}  // namespace

void avx2_dot2x3_f32(const float* const* w, const float* const* x, std::int64_t n, float* out) {
  // dot_row's order for two weight rows and three tokens: twelve accumulators plus the two
  // weight vectors and one activation vector fill 15 of the 16 registers; each weight load
  // feeds three FMAs, each activation load two. (Two rows by four tokens would need sixteen
  // accumulators; run as two pairs of tokens it was 18 % slower, as strided passes 2x. With one
  // chain per row and token, MLA's f32 W_UK products were 4 % of the V2-Lite shape's prefill.)
  __m256 first[2][3], second[2][3];
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 3; ++k) first[r][k] = second[r][k] = _mm256_setzero_ps();
  std::int64_t i = 0;
  for (; i < whole16(n); i += 16) {
    step_2x3(w, x, i, first);
    step_2x3(w, x, i + 8, second);
  }
  if (i + 8 <= n) step_2x3(w, x, i, first);
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 3; ++k) {
      float sum = hsum(_mm256_add_ps(first[r][k], second[r][k]));
      for (std::int64_t j = tail_start(n); j < n; ++j) sum = std::fma(w[r][j], x[k][j], sum);
      out[3 * r + k] = sum;
    }
}

RowDotFn avx2_row_dot(DType t) {
  switch (t) {
    case DType::kF32: return &dot_row<f32x8, f32_at>;
    case DType::kF16: return &dot_row<f16x8, f16_at>;
    case DType::kBF16: return &dot_row<bf16x8, bf16_at>;
    case DType::kQ8_0: return &dot_q8_0;
    default: return nullptr;
  }
}

}  // namespace whale
