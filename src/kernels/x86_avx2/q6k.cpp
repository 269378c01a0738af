// q6k.cpp — AVX2 dot product of Q6_K weights with Q8_K activations.
// Q6_K block: ql[128] @0, qh[64] @128, int8 scales[16] @192, f16 d @208.
// Q8_K block: f32 d @0, 256 int8 quants @4.
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"
#if defined(WHALE_VNNI)
#include "kernels/x86_avx512_vnni/q6k_512.h"  // the VNNI build's matmul
#endif

namespace whale::WHALE_AVX2_NS {
namespace {

constexpr int kWeightBytes = 210;
constexpr int kActBytes = 292;

// The 6-bit levels (0..63) of one half super-block (128 weights) as four vectors of 32:
// quarter k takes the low nibbles of ql0 / ql1 (k = 0, 1) or their high nibbles (k = 2, 3),
// and bits 2k, 2k+1 of qh as its top two bits.
inline void unpack_half(const std::uint8_t* w, int half, __m256i q[4]) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  const __m256i ql0 = load256(w + 64 * half);
  const __m256i ql1 = load256(w + 64 * half + 32);
  const __m256i qh = load256(w + 128 + 32 * half);
  q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
  q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
  q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
  q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
}

// Σ_j sc_j Σ_{i in j} (q_i - 32) x_i as 8 int32 partial sums. The 6-bit q (0..63) is the
// unsigned maddubs operand; subtracting maddubs(32, x) removes the offset in int16, exactly
// (|Σ pair| ≤ 2 · 63 · 128 and 2 · 32 · 128, difference ≤ 2 · 32 · 128).
inline __m256i block_sums(const std::uint8_t* w, const std::uint8_t* x) {
  const std::int8_t* sc = reinterpret_cast<const std::int8_t*>(w + 192);
  const __m256i k32 = _mm256_set1_epi8(32);
  __m256i acc = _mm256_setzero_si256();
  for (int half = 0; half < 2; ++half) {
    __m256i q[4];
    unpack_half(w, half, q);
    for (int k = 0; k < 4; ++k) {
      const __m256i xk = load256(x + 4 + 128 * half + 32 * k);
      const __m256i pairs =
          _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], xk), _mm256_maddubs_epi16(k32, xk));
      // int16 lanes 0-7 hold elements 0-15 of the quarter (sub-block 8·half + 2k), 8-15 the
      // next sub-block.
      const int j = 8 * half + 2 * k;
      const __m256i scales = _mm256_set_m128i(_mm_set1_epi16(sc[j + 1]), _mm_set1_epi16(sc[j]));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, scales));
    }
  }
  return acc;
}

// One row × TT tokens of the integer matmul (contract in kernels/q8_matmul.h). Each 32-element
// chunk is unpacked once to q - 32 in [-32, 31]; its sign moves onto x (exact, x ≠ -128) so
// one maddubs per token suffices.
template <int TT>
void matmul_tile(const Q8MatmulArgs& a, std::int64_t r, std::int64_t t0) {
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* row = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  const std::int8_t* xq[TT];
  const float* xd[TT];
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) {
    xq[t] = a.x_qs + (t0 + t) * a.cols;
    xd[t] = a.x_d + (t0 + t) * nb;
  }
  // The f32 sums stay in memory between blocks, as in q4k.cpp's tile (registers hold the int32
  // lanes and a half block's levels).
  alignas(32) float acc[TT][8] = {};
  if constexpr (TT > 1) asm("" : : "r"(acc) : "memory");  // decode's one token: registers
  const __m256i k32 = _mm256_set1_epi8(32);
  for (std::int64_t b = 0; b < nb; ++b) {
    const std::uint8_t* w = row + b * kWeightBytes;
    prefetch_ahead<kWeightBytes>(w);
    const std::int8_t* sc = reinterpret_cast<const std::int8_t*>(w + 192);
    __m256i lanes[TT];
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) lanes[t] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      __m256i q[4];
      unpack_half(w, half, q);
#pragma GCC unroll 8
      for (int k = 0; k < 4; ++k) {
        const __m256i qs = _mm256_sub_epi8(q[k], k32);
        const __m256i qa = _mm256_sign_epi8(qs, qs);
        const int j = 8 * half + 2 * k;
        const __m256i scales = _mm256_set_m128i(_mm_set1_epi16(sc[j + 1]), _mm_set1_epi16(sc[j]));
#pragma GCC unroll 8
        for (int t = 0; t < TT; ++t) {
          const __m256i xk = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t] + 256 * b + 128 * half + 32 * k));
          const __m256i pairs = _mm256_maddubs_epi16(qa, _mm256_sign_epi8(xk, qs));
          lanes[t] = madd_add(lanes[t], pairs, scales);
          // One chain a token (GCC's reassociation otherwise spills a tree of products).
          asm("" : "+x"(lanes[t]));
        }
      }
    }
    const float d = load_f16(w + 208);
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t)
      _mm256_store_ps(acc[t], _mm256_fmadd_ps(_mm256_set1_ps(d * xd[t][b]), _mm256_cvtepi32_ps(lanes[t]),
                                              _mm256_load_ps(acc[t])));
  }
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) a.y[(t0 + t) * a.y_stride + r] = hsum_f32(_mm256_load_ps(acc[t])) + 0.0f;
}

}  // namespace

void matmul_q6_k(const Q8MatmulArgs& a) {
#if defined(WHALE_VNNI)
  if (a.n_tokens == 1) {  // decode: two row pairs a tile share the codes' offset
    std::int64_t r = a.row_begin;
    for (; r + 4 <= a.row_end; r += 4) q6k_decode_tile_512<2>(a, r, a.row_end, 0);
    for (; r < a.row_end; r += 2) q6k_decode_tile_512<1>(a, r, a.row_end, 0);
    return;
  }
  for_each_packed_row_pair_tile<32>(
      a, ChunkSums::kNone, PackedX::kBiased, [&](auto tt, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t) {
        Q6kPairs unpack;
        chunk8_tile_512<Q6kPairs, decltype(tt)::value>(a, x, ra, rb, t, unpack);
      });
#else
  for_each_tile<kPrefillTokens>(a, [&](auto tt, std::int64_t r, std::int64_t t) { matmul_tile<decltype(tt)::value>(a, r, t); });
#endif
}

float dot_q6_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n) {
  const std::uint8_t* pw = bytes(w);
  const std::uint8_t* px = bytes(x);
  __m256 acc = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < n / 256; ++b, pw += kWeightBytes, px += kActBytes) {
    const __m256 d = _mm256_set1_ps(load_f16(pw + 208) * load_f32(px));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(block_sums(pw, px)), acc);
  }
  return hsum_f32(acc);
}

void sums_q6_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums) {
  for (std::int64_t b = 0; b < n_blocks; ++b)
    sums[b] = hsum_i32(block_sums(bytes(w) + b * kWeightBytes, bytes(x) + b * kActBytes));
}

}  // namespace whale::WHALE_AVX2_NS
