// q8_0.cpp — AVX2 dot product of Q8_0 weights with Q8_0 activations.
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"

namespace whale::avx2 {
namespace {

constexpr int kBlockBytes = 34;  // f16 d, then 32 int8 quants

// Σ w_i x_i of one block as 8 int32 partial sums. maddubs needs one unsigned operand, so the
// weight's sign moves onto x: |w| ≤ 128 fits u8, and x · sign(w) is exact because x ≠ -128;
// each pair sum is ≤ 2 · 128 · 127 = 32512, so the int16 step never saturates.
inline __m256i block_dot(const std::uint8_t* w, const std::uint8_t* x) {
  const __m256i qw = load256(w + 2);
  const __m256i qx = load256(x + 2);
  const __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

}  // namespace

float dot_q8_0_q8_0(const std::byte* w, const std::byte* x, std::int64_t n) {
  const std::uint8_t* pw = bytes(w);
  const std::uint8_t* px = bytes(x);
  __m256 acc = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < n / 32; ++b, pw += kBlockBytes, px += kBlockBytes) {
    const __m256 d = _mm256_set1_ps(load_f16(pw) * load_f16(px));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(block_dot(pw, px)), acc);
  }
  return hsum_f32(acc);
}

void sums_q8_0_q8_0(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums) {
  for (std::int64_t b = 0; b < n_blocks; ++b)
    sums[b] = hsum_i32(block_dot(bytes(w) + b * kBlockBytes, bytes(x) + b * kBlockBytes));
}

}  // namespace whale::avx2
