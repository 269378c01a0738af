// q4k.cpp — AVX2 dot product of Q4_K weights with Q8_K activations.
// Q4_K block: f16 d @0, f16 dmin @2, 12 scale bytes @4, 128 nibble bytes @16.
// Q8_K block: f32 d @0, 256 int8 quants @4, 16 int16 bsums @260.
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"

namespace whale::avx2 {
namespace {

constexpr int kWeightBytes = 144;
constexpr int kActBytes = 292;

struct BlockSums {
  __m256i scaled;     // 8 partial sums of Σ_j sc_j Σ_{i in j} q_i x_i
  std::int32_t mins;  // Σ_j m_j · (x quant sum of sub-block j)
};

// The 6-bit scales and mins of the 8 sub-blocks (same packing as quant/blocks.h describes;
// re-derived here so that no shared inline code is compiled with AVX2 flags).
inline void unpack_scales(const std::uint8_t* s, int* sc, int* m) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    m[j] = s[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    m[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Nibbles are unsigned (≤ 15) and x signed, so maddubs pairs are ≤ 2 · 15 · 128: exact.
inline BlockSums block_sums(const std::uint8_t* w, const std::uint8_t* x) {
  int sc[8], m[8];
  unpack_scales(w + 4, sc, m);
  BlockSums r{_mm256_setzero_si256(), 0};
  std::int16_t bsums[16];
  std::memcpy(bsums, x + 260, sizeof bsums);
  for (int j = 0; j < 8; ++j) r.mins += m[j] * (bsums[2 * j] + bsums[2 * j + 1]);
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(w + 16 + 32 * c);
    const __m256i lo = _mm256_and_si256(q, low_mask);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low_mask);
    const __m256i pl = _mm256_maddubs_epi16(lo, load256(x + 4 + 64 * c));
    const __m256i ph = _mm256_maddubs_epi16(hi, load256(x + 4 + 64 * c + 32));
    r.scaled = _mm256_add_epi32(
        r.scaled, _mm256_madd_epi16(pl, _mm256_set1_epi16(static_cast<short>(sc[2 * c]))));
    r.scaled = _mm256_add_epi32(
        r.scaled, _mm256_madd_epi16(ph, _mm256_set1_epi16(static_cast<short>(sc[2 * c + 1]))));
  }
  return r;
}

}  // namespace

float dot_q4_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n) {
  const std::uint8_t* pw = bytes(w);
  const std::uint8_t* px = bytes(x);
  __m256 acc = _mm256_setzero_ps();
  float acc_mins = 0.0f;
  for (std::int64_t b = 0; b < n / 256; ++b, pw += kWeightBytes, px += kActBytes) {
    const float dx = load_f32(px);
    const BlockSums s = block_sums(pw, px);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(pw) * dx), _mm256_cvtepi32_ps(s.scaled), acc);
    acc_mins += load_f16(pw + 2) * dx * static_cast<float>(s.mins);
  }
  return hsum_f32(acc) - acc_mins;
}

void sums_q4_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums) {
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const BlockSums s = block_sums(bytes(w) + b * kWeightBytes, bytes(x) + b * kActBytes);
    sums[2 * b] = hsum_i32(s.scaled);
    sums[2 * b + 1] = s.mins;
  }
}

}  // namespace whale::avx2
