// q6k.cpp — AVX2 dot product of Q6_K weights with Q8_K activations.
// Q6_K block: ql[128] @0, qh[64] @128, int8 scales[16] @192, f16 d @208.
// Q8_K block: f32 d @0, 256 int8 quants @4.
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"
#if defined(WHALE_VNNI)
#include "kernels/x86_avx512_vnni/q6k_512.h"  // the VNNI build's matmul
#else
#include "kernels/x86_avx2/packed_tokens.h"  // the AVX2 build's prefill
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

#if !defined(WHALE_VNNI)
// The 6-bit levels (0..63) of quarter k (elements 32k..) of half `half`: the low (k < 2) or
// high nibbles of ql[64 half + 32 (k mod 2) ..], and bits 2k, 2k + 1 of qh[32 half ..] on top.
inline __m256i unpack_quarter(const std::uint8_t* w, int half, int k) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  const __m256i ql = load256(w + 64 * half + 32 * (k % 2));
  const __m256i qh = load256(w + 128 + 32 * half);
  const __m256i low = k < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
  return _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2), 4));
}

// The 16 int8 scales of a block as int16, both 128-bit lanes holding those of half h
// (sub-blocks 8h..8h+7): scales_of_quarter picks a quarter's pair from it.
inline __m256i half_scales(const std::uint8_t* w, int half) {
  const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 192)));
  return half == 0 ? _mm256_permute2x128_si256(sc16, sc16, 0x00) : _mm256_permute2x128_si256(sc16, sc16, 0x11);
}

// Quarter k's scales as the int16 lanes vpmaddwd needs: its first 16 elements' sub-block
// (2k of the half) in the low 128 bits, the next 16's (2k + 1) in the high: one in-lane byte
// shuffle (set1 of each scale byte and an insert took ~6 uops a quarter).
inline __m256i scales_of_quarter(__m256i half_sc, int k) {
  const char a = static_cast<char>(4 * k), b = static_cast<char>(4 * k + 2);
  return _mm256_shuffle_epi8(half_sc, _mm256_setr_epi8(a, a + 1, a, a + 1, a, a + 1, a, a + 1, a, a + 1, a, a + 1, a,
                                                       a + 1, a, a + 1, b, b + 1, b, b + 1, b, b + 1, b, b + 1, b,
                                                       b + 1, b, b + 1, b, b + 1, b, b + 1));
}

// Decode: one row × TT ≤ 2 tokens from t0 (contract in kernels/q8_matmul.h): one token, and
// the tokens of a matmul with 2 or 3, as in q4k.cpp's decode tile (hot, one core, 2048x7168,
// GOP/s: 2 tokens 40 -> 70, 3 tokens 41 -> 60 against the packed tiles). q - 32 is taken as
// maddubs(q, x) - maddubs(32, x) (decode_offsets, of all the call's tokens), one vpsubw a
// quarter, where moving q - 32's sign onto x took two vpsignb (exact: pairs ≤ 2 · 63 · 128, see
// block_sums).
template <int TT>
void decode_tile(const Q8MatmulArgs& a, const std::int16_t* offsets, std::int64_t r, std::int64_t t0) {
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* w = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  const std::int8_t* x = a.x_qs + t0 * a.cols;
  const float* xd = a.x_d + t0 * nb;
  offsets += t0 * a.cols / 2;
  __m256 acc[TT];
#pragma GCC unroll 2
  for (int t = 0; t < TT; ++t) acc[t] = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < nb; ++b, w += kWeightBytes, x += 256, xd += 1, offsets += 128) {
    prefetch_ahead<kWeightBytes>(w);
    __m256i lanes[TT];
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t) lanes[t] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      const __m256i hs = half_scales(w, half);
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        const int e = 128 * half + 32 * k;  // the quarter's first element
        const __m256i q = unpack_quarter(w, half, k);
        const __m256i sc = scales_of_quarter(hs, k);
#pragma GCC unroll 2
        for (int t = 0; t < TT; ++t) {
          const __m256i xk = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + t * a.cols + e));
          const __m256i off = _mm256_load_si256(reinterpret_cast<const __m256i*>(offsets + t * a.cols / 2 + e / 2));
          lanes[t] = madd_add(lanes[t], _mm256_sub_epi16(_mm256_maddubs_epi16(q, xk), off), sc);
        }
      }
    }
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t)
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(w + 208) * xd[t * nb]), _mm256_cvtepi32_ps(lanes[t]), acc[t]);
  }
#pragma GCC unroll 2
  for (int t = 0; t < TT; ++t) a.y[(t0 + t) * a.y_stride + r] = hsum_f32(acc[t]) + 0.0f;
}

// Prefill: one row × TT tokens of a packed chunk (packed_tokens.h, biased: x + 128), each
// quarter's levels unpacked once for the TT tokens; the f32 sums in memory between blocks, as
// in q4k.cpp's tile. With x + 128 unsigned, q - 32 is vpmaddubsw's signed operand as it is
// (pairs ≤ 2 · 255 · 32, exact) and no sign moves per token; the block's 128 · Σ sc · (q - 32)
// lanes, computed once for the TT tokens, come off at the end.
template <int TT>
[[gnu::noinline]] void packed_tile(const Q8MatmulArgs& a, const PackedTokens& x, std::int64_t r, std::int64_t t0) {
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* w = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  const std::int8_t* xq = x.quants(t0);
  const float* xd = x.scales(t0);
  alignas(32) float acc[TT][8] = {};
  asm("" : : "r"(acc) : "memory");
  const __m256i k32 = _mm256_set1_epi8(32);
  const __m256i k128 = _mm256_set1_epi8(static_cast<char>(0x80));
  for (std::int64_t b = 0; b < nb; ++b, w += kWeightBytes, xq += 256 * TT, xd += TT) {
    prefetch_ahead<kWeightBytes>(w);
    __m256i lanes[TT];
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) lanes[t] = _mm256_setzero_si256();
    __m256i bias = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int half = 0; half < 2; ++half) {
      const __m256i hs = half_scales(w, half);
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        const __m256i qs = _mm256_sub_epi8(unpack_quarter(w, half, k), k32);
        const __m256i sc = scales_of_quarter(hs, k);
        bias = madd_add(bias, _mm256_maddubs_epi16(k128, qs), sc);
#pragma GCC unroll 8
        for (int t = 0; t < TT; ++t) {
          const __m256i xb = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq + 32 * ((4 * half + k) * TT + t)));
          lanes[t] = madd_add(lanes[t], _mm256_maddubs_epi16(xb, qs), sc);
          asm("" : "+x"(lanes[t]));  // one chain a token (see q4k.cpp's tile)
        }
      }
    }
    alignas(32) float dd[8];
    _mm256_store_ps(dd, _mm256_mul_ps(_mm256_set1_ps(load_f16(w + 208)), _mm256_loadu_ps(xd)));
    asm("" : "+m"(dd));
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t)
      _mm256_store_ps(acc[t], _mm256_fmadd_ps(_mm256_broadcast_ss(dd + t), _mm256_cvtepi32_ps(_mm256_sub_epi32(lanes[t], bias)),
                                              _mm256_load_ps(acc[t])));
  }
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t) a.y[(t0 + t) * a.y_stride + r] = hsum_f32(_mm256_load_ps(acc[t])) + 0.0f;
}
#endif

}  // namespace

void matmul_q6_k(const Q8MatmulArgs& a) {
#if defined(WHALE_VNNI)
  if (a.n_tokens == 1) {  // decode: two row pairs a tile share the codes' offset
    const GroupsTwice xg(a);
    std::int64_t r = a.row_begin;
    for (; r + 4 <= a.row_end; r += 4) q6k_decode_tile_512<2>(a, r, a.row_end, 0, xg);
    for (; r < a.row_end; r += 2) q6k_decode_tile_512<1>(a, r, a.row_end, 0, xg);
    return;
  }
  for_each_packed_row_pair_tile<32>(
      a, ChunkSums::kNone, PackedX::kBiased, [&](auto tt, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t) {
        Q6kPairs unpack;
        chunk8_tile_512<Q6kPairs, decltype(tt)::value>(a, x, ra, rb, t, unpack);
      });
#else
  if (a.n_tokens <= kDecodeTileTokens) {
    const std::int16_t* x_offsets = decode_offsets<32>(a);
    for (std::int64_t r = a.row_begin; r < a.row_end; ++r)
      for_each_decode_token_tile(a.n_tokens, [&](auto tt, std::int64_t t) { decode_tile<decltype(tt)::value>(a, x_offsets, r, t); });
    return;
  }
  for_each_packed_tile(a, PackedSums::kNone, true, PackedOrder::kPlain, [&](auto tt, const PackedTokens& x, std::int64_t r, std::int64_t t) {
    packed_tile<decltype(tt)::value>(a, x, r, t);
  });
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
