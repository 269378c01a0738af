// q4k.cpp — AVX2 dot product of Q4_K weights with Q8_K activations, and the integer matmul
// kernels of Q4_K and Q5_K.
// Q4_K block: f16 d @0, f16 dmin @2, 12 scale bytes @4, 128 nibble bytes @16.
// Q8_K block: f32 d @0, 256 int8 quants @4, 16 int16 bsums @260.
#include "kernels/x86_avx2/avx2_quant_dot.h"
#include "kernels/x86_avx2/avx2_util.h"
#if !defined(WHALE_VNNI)
#include "kernels/x86_avx2/packed_tokens.h"  // the AVX2 build's prefill
#endif

namespace whale::WHALE_AVX2_NS {
namespace {

constexpr int kWeightBytes = 144;
constexpr int kActBytes = 292;

struct BlockSums {
  __m256i scaled;  // 8 partial sums of Σ_j sc_j Σ_{i in j} q_i x_i
  __m128i mins;    // 4 partial sums of Σ_j m_j · (x quant sum of sub-block j)
};

// The 8 six-bit scales then the 8 six-bit mins, unpacked from the 12 bytes with 32-bit word
// operations (bytes 0-3 = w0, 4-7 = w1, 8-11 = w2): sub-blocks 0-3 are the low 6 bits of w0
// (scales) and w1 (mins); sub-blocks 4-7 take 4 bits from w2 (low nibbles for scales, high for
// mins) and their top 2 bits from the spare high bits of w0 (scales) and w1 (mins). The same
// packing as quant/blocks.h, re-derived here so no shared inline code gets AVX2 flags.
inline void unpack_scales(const std::uint8_t* s, std::uint8_t* out) {
  std::uint32_t w[3];
  std::memcpy(w, s, 12);
  const std::uint32_t packed[4] = {
      w[0] & 0x3F3F3F3Fu,
      (w[2] & 0x0F0F0F0Fu) | (((w[0] >> 6) & 0x03030303u) << 4),
      w[1] & 0x3F3F3F3Fu,
      ((w[2] >> 4) & 0x0F0F0F0Fu) | (((w[1] >> 6) & 0x03030303u) << 4),
  };
  std::memcpy(out, packed, 16);
}

// Nibbles are unsigned (≤ 15) and x signed, so maddubs pairs are ≤ 2 · 15 · 128: exact. The
// min term pairs the 16 bsums into 8 sub-block sums (≤ 32 · 128, fits int16) and multiplies
// them by the mins in one madd.
inline BlockSums block_sums(const std::uint8_t* w, const std::uint8_t* x) {
  alignas(16) std::uint8_t sm[16];
  unpack_scales(w + 4, sm);
  const __m256i bsums = load256(x + 260);
  const __m128i pair_sums =
      _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
  const __m128i mins16 =
      _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm + 8)));
  BlockSums r{_mm256_setzero_si256(), _mm_madd_epi16(mins16, pair_sums)};
  const __m256i low_mask = _mm256_set1_epi8(0x0F);
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(w + 16 + 32 * c);
    const __m256i lo = _mm256_and_si256(q, low_mask);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low_mask);
    const __m256i pl = _mm256_maddubs_epi16(lo, load256(x + 4 + 64 * c));
    const __m256i ph = _mm256_maddubs_epi16(hi, load256(x + 4 + 64 * c + 32));
    r.scaled = _mm256_add_epi32(r.scaled, _mm256_madd_epi16(pl, _mm256_set1_epi16(sm[2 * c])));
    r.scaled = _mm256_add_epi32(r.scaled, _mm256_madd_epi16(ph, _mm256_set1_epi16(sm[2 * c + 1])));
  }
  return r;
}

// The 8 scales (bytes 0-7) and 8 mins (bytes 8-15) of a block, unpacked from the 12 scale
// bytes at s in vector registers (the same words as unpack_scales: lanes w0, w2, w1, w2 masked
// to 6 or 4 bits, with the top 2 bits of sub-blocks 4-7 taken from w0 / w1). Reads 16 bytes;
// the 4 past the scales are the block's first quants, ignored.
inline __m128i unpack_scales_simd(const std::uint8_t* s) {
  const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  const __m128i low_words = _mm_srlv_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(2, 1, 2, 0)),
                                           _mm_setr_epi32(0, 0, 0, 4));
  const __m128i top_bits = _mm_srli_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(1, 1, 0, 0)), 2);
  return _mm_or_si128(
      _mm_and_si128(low_words, _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F)),
      _mm_and_si128(top_bits, _mm_setr_epi32(0, 0x30303030, 0, 0x30303030)));
}

#if !defined(WHALE_VNNI)
// unpack_scales_simd's 8 mins (bytes 8-15) as int16 words: one vpshufb, a zeroed byte above
// each (a function, not a global: no vector code may run at static initialisation).
inline __m128i min_words(__m128i sm) {
  return _mm_shuffle_epi8(sm, _mm_setr_epi8(8, -128, 9, -128, 10, -128, 11, -128, 12, -128, 13, -128, 14, -128, 15, -128));
}

// A block's weights as the AVX2 tiles use them. kQ5: Q5_K, the same layout with 32 bytes of
// fifth bits (qh) before the nibbles: element 64c + l takes bit 2c of qh[l], element 64c + 32
// + l bit 2c + 1.
template <bool kQ5>
struct KBlock {
  static constexpr int kBytes = kQ5 ? 176 : kWeightBytes;
  static constexpr int kQsOffset = kQ5 ? 48 : 16;

  // The scales of sub-blocks 2c and 2c + 1 as two int16 in one int32 (chunk_scales[c]), the
  // word pair that multiplies chunk c's products in word pairs (pair_words), and each pair of
  // mins (m_2k, m_2k+1) as two int16 (min_pairs[k]), stored so that the tiles take them as
  // broadcast loads (vpbroadcastd m32 needs no shuffle unit).
  alignas(16) std::int32_t chunk_scales[4];
  alignas(16) std::int32_t min_pairs[4];

  void fill(const std::uint8_t* w) {
    const __m128i sm = unpack_scales_simd(w + 4);
    _mm_store_si128(reinterpret_cast<__m128i*>(chunk_scales), _mm_cvtepu8_epi16(sm));
    _mm_store_si128(reinterpret_cast<__m128i*>(min_pairs), min_words(sm));
    // Without this the compiler forwards the stored vectors into register shuffles (two
    // shuffle uops per broadcast).
    asm("" : "+m"(chunk_scales), "+m"(min_pairs));
  }

  static __m256i fifth_bits(const std::uint8_t* w) { return kQ5 ? load256(w + 16) : _mm256_setzero_si256(); }

  // The 4-bit (Q5: 5-bit) levels of chunk c: elements 64c.. (lo) and 64c + 32.. (hi).
  static void levels(const std::uint8_t* w, __m256i qh, int c, __m256i& lo, __m256i& hi) {
    const __m256i low_mask = _mm256_set1_epi8(0x0F);
    const __m256i q = load256(w + kQsOffset + 32 * c);
    lo = _mm256_and_si256(q, low_mask);
    hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low_mask);
    if constexpr (kQ5) {
      // Bit k of each qh byte to 0x10: shift within 16-bit lanes, keep bit 0 of every byte.
      const __m256i one = _mm256_set1_epi8(1);
      lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
      hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
    }
  }
};

// Decode: one row × TT tokens (contract in kernels/q8_matmul.h), TT ≤ 2: one token, and the
// tokens of a matmul with 2 or 3 (an MoE expert's share of a short prefill, which the packed
// 8-token tiles ran at barely more than one token's speed: the block's scale table and the
// chunk's packing for 2 tokens; cache-hot one core, 2048x7168, GOP/s: 1 token 73, 2 tokens
// 82, 3 tokens 67). Nibbles are unsigned (≤ 15, Q5 ≤ 31) and x signed, so maddubs pairs are
// ≤ 2 · 31 · 128: exact.
template <int TT, bool kQ5>
void decode_tile(const Q8MatmulArgs& a, std::int64_t r, std::int64_t t0) {
  using B = KBlock<kQ5>;
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* w = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  const std::int8_t* xq = a.x_qs + t0 * a.cols;
  const float* xd = a.x_d + t0 * nb;
  const std::int16_t* xs = a.x_sums32 + t0 * (a.cols / 32);
  __m256 acc[TT];
  __m128 mins[TT];
#pragma GCC unroll 2
  for (int t = 0; t < TT; ++t) {
    acc[t] = _mm256_setzero_ps();
    mins[t] = _mm_setzero_ps();
  }
  for (std::int64_t b = 0; b < nb; ++b, w += B::kBytes, xq += 256, xd += 1, xs += 8) {
    prefetch_ahead<B::kBytes>(w);
    // Each scale as an int16 in every word, one vpshufb of the scale bytes apiece (byte j, then
    // a zeroed byte), the mins likewise: decode is bound by Zen 3's two shuffle pipes, and this
    // takes 10 shuffles a block where widening, pairing and pshufd took 16 (a stored table read
    // by broadcast loads waited on its store). Q4_K decode cache-hot, one core, medians of 5
    // alternated, GB/s: 15.8 / 14.9 / 14.5 / 16.1 -> 18.2 / 16.3 / 17.1 / 18.3 at the 4 shapes.
    const __m128i sm = unpack_scales_simd(w + 4);
    const __m256i sm2 = _mm256_broadcastsi128_si256(sm);
    __m256i scale[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) scale[j] = _mm256_shuffle_epi8(sm2, _mm256_set1_epi16(static_cast<short>(0x8000 | j)));
    const __m256i qh = kQ5 ? load256(w + 16) : _mm256_setzero_si256();
    __m256i lanes[TT];
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t) lanes[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      __m256i lo, hi;
      B::levels(w, qh, c, lo, hi);
#pragma GCC unroll 2
      for (int t = 0; t < TT; ++t) {
        const std::uint8_t* x = reinterpret_cast<const std::uint8_t*>(xq + t * a.cols + 64 * c);
        lanes[t] = madd_add(lanes[t], _mm256_maddubs_epi16(lo, load256(x)), scale[2 * c]);
        lanes[t] = madd_add(lanes[t], _mm256_maddubs_epi16(hi, load256(x + 32)), scale[2 * c + 1]);
      }
    }
    const __m128 d_dmin = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(load_u32(w))));
    // Lane k: m_2k · (sum of x's group 2k) + m_2k+1 · (group 2k + 1), the contract's min lane k;
    // dmin is stored positive and the mins subtract.
    const __m128i mins16 = min_words(sm);
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t) {
      const __m128 dd = _mm_mul_ps(d_dmin, _mm_set1_ps(xd[t * nb]));  // d·dx, dmin·dx
      acc[t] = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), _mm256_cvtepi32_ps(lanes[t]), acc[t]);
      const __m128i sums = _mm_loadu_si128(reinterpret_cast<const __m128i*>(xs + t * (a.cols / 32)));
      mins[t] = _mm_fnmadd_ps(_mm_shuffle_ps(dd, dd, 0x55), _mm_cvtepi32_ps(_mm_madd_epi16(mins16, sums)), mins[t]);
    }
  }
#pragma GCC unroll 2
  for (int t = 0; t < TT; ++t) a.y[(t0 + t) * a.y_stride + r] = hsum_f32(acc[t]) + hsum_f32(mins[t]);
}

// Prefill: one row × TT tokens of a packed chunk (packed_tokens.h, in word pairs), each chunk
// of the block's levels unpacked once for the TT tokens. The chunk's two sub-blocks go through
// pair_words, so a token's two products add in int16 (pairs ≤ 2 · 31 · 128 each, the sum fits)
// and take one vpmaddwd by the (sc_2c, sc_2c+1) word pair instead of two: hot, one core, best
// of 5-9 alternated, GOP/s: Q4_K 123.5 / 122.4 / 120.9 / 125.1 -> 129.4 / 127.5 / 126.8 /
// 129.3 at the 4 shapes, Q5_K 119.4 -> 122.7; V2-Lite pp256 24.8 / 25.7 / 25.0 -> 26.0 / 26.0
// / 26.2 tok/s. The f32 sums stay in memory between blocks (a load and a store a token and
// block): the 16 vector registers hold the tokens' int32 lanes and a chunk's levels and scale.
// The min lanes of all TT tokens take one vpmaddwd per lane k.
template <int TT, bool kQ5>
[[gnu::noinline]] void packed_tile(const Q8MatmulArgs& a, const PackedTokens& x, std::int64_t r, std::int64_t t0) {
  using B = KBlock<kQ5>;
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* w = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  const std::int8_t* xq = x.quants(t0);
  const float* xd = x.scales(t0);
  const std::int16_t* xm = x.min_sums(t0);
  alignas(32) float acc[TT][8] = {};
  alignas(32) float mins[4][8] = {};  // mins[k][t]: token t's min lane k
  asm("" : : "r"(acc), "r"(mins) : "memory");
  // Block b + 1's scales are unpacked while block b's tokens run: unpacked at the top of its
  // own block, the chain of loads, shuffles, a store and the broadcast loads held back every
  // token's first vpmaddwd. Q4_K, 64 tokens, cache-hot, one Zen 3 core, best of 7 alternated
  // (the medians swung 70-120 that hour), GOP/s: 122.6 / 114.8 / 111.9 / 119.5 -> 124.8 /
  // 119.6 / 118.8 / 124.8 at the 4 shapes.
  B ring[2];
  ring[0].fill(w);
  for (std::int64_t b = 0; b < nb; ++b, w += B::kBytes, xq += 256 * TT, xd += TT, xm += 8 * TT) {
    prefetch_ahead<B::kBytes>(w);
    if (b + 1 < nb) ring[(b + 1) & 1].fill(w + B::kBytes);
    const B& block = ring[b & 1];
    const __m256i qh = B::fifth_bits(w);
    __m256i lanes[TT];
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t) lanes[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      __m256i lo, hi;
      B::levels(w, qh, c, lo, hi);
      __m256i wa, wb;
      pair_words(lo, hi, wa, wb);
      const __m256i sc = _mm256_set1_epi32(block.chunk_scales[c]);
#pragma GCC unroll 8
      for (int t = 0; t < TT; ++t) {
        const std::int8_t* x0 = xq + 32 * (2 * c * TT + t);
        const std::int8_t* x1 = xq + 32 * ((2 * c + 1) * TT + t);
        const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(wa, _mm256_load_si256(reinterpret_cast<const __m256i*>(x0))),
                                           _mm256_maddubs_epi16(wb, _mm256_load_si256(reinterpret_cast<const __m256i*>(x1))));
        lanes[t] = madd_add(lanes[t], p, sc);
        // One chain a token: GCC otherwise reassociates the block's 32 integer additions into
        // a tree, computing every product first and spilling them (half the kernel's speed).
        asm("" : "+x"(lanes[t]));
      }
    }
    // d·dx and dmin·dx of the TT tokens (a narrower tile's extra lanes are ignored).
    const __m256 dx = _mm256_loadu_ps(xd);
    alignas(32) float dd[8];
    _mm256_store_ps(dd, _mm256_mul_ps(_mm256_set1_ps(load_f16(w)), dx));
    asm("" : "+m"(dd));
#pragma GCC unroll 8
    for (int t = 0; t < TT; ++t)
      _mm256_store_ps(acc[t], _mm256_fmadd_ps(_mm256_broadcast_ss(dd + t), _mm256_cvtepi32_ps(lanes[t]),
                                              _mm256_load_ps(acc[t])));
    const __m256 dmin_dx = _mm256_mul_ps(_mm256_set1_ps(load_f16(w + 2)), dx);
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xm + 2 * k * TT));
      const __m256i lane_k = _mm256_madd_epi16(sums, _mm256_set1_epi32(block.min_pairs[k]));
      _mm256_store_ps(mins[k], _mm256_fnmadd_ps(dmin_dx, _mm256_cvtepi32_ps(lane_k), _mm256_load_ps(mins[k])));
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < TT; ++t)
    a.y[(t0 + t) * a.y_stride + r] =
        hsum_f32(_mm256_load_ps(acc[t])) + ((mins[0][t] + mins[2][t]) + (mins[1][t] + mins[3][t]));
}
#endif

}  // namespace
}  // namespace whale::WHALE_AVX2_NS

#if defined(WHALE_VNNI)
// The VNNI build runs 512-bit row-pair tiles instead (they use unpack_scales_simd above).
#include "kernels/x86_avx512_vnni/q4k_512.h"
#endif

namespace whale::WHALE_AVX2_NS {
namespace {

template <bool kQ5>
void matmul_rows(const Q8MatmulArgs& a) {
#if defined(WHALE_VNNI)
  if (a.n_tokens == 1) {  // decode: nothing to repack
    matmul_rows_512_one<kQ5>(a, a.row_begin, a.row_end, 0);
    return;
  }
  for_each_packed_row_pair_tile<64>(
      a, ChunkSums::kTokenPairs, PackedX::kAsIs, [&](auto tt, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t) {
        constexpr int TT = decltype(tt)::value;
        if constexpr (TT == 1)
          matmul_rows_512_one<kQ5>(a, ra, rb + 1, t);
        else
          matmul_tile_512_packed<TT, kQ5>(a, x, ra, rb, t);
      });
#else
  if (a.n_tokens <= kDecodeTileTokens) {
    for (std::int64_t r = a.row_begin; r < a.row_end; ++r)
      for_each_decode_token_tile(a.n_tokens, [&](auto tt, std::int64_t t) { decode_tile<decltype(tt)::value, kQ5>(a, r, t); });
    return;
  }
  for_each_packed_tile(a, PackedSums::kKQuantMins, false, PackedOrder::kWordPairs, [&](auto tt, const PackedTokens& x, std::int64_t r, std::int64_t t) {
    packed_tile<decltype(tt)::value, kQ5>(a, x, r, t);
  });
#endif
}

}  // namespace

void matmul_q4_k(const Q8MatmulArgs& a) { matmul_rows<false>(a); }
void matmul_q5_k(const Q8MatmulArgs& a) { matmul_rows<true>(a); }

float dot_q4_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n) {
  const std::uint8_t* pw = bytes(w);
  const std::uint8_t* px = bytes(x);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_mins = _mm_setzero_ps();
  for (std::int64_t b = 0; b < n / 256; ++b, pw += kWeightBytes, px += kActBytes) {
    const float dx = load_f32(px);
    const BlockSums s = block_sums(pw, px);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(load_f16(pw) * dx), _mm256_cvtepi32_ps(s.scaled), acc);
    acc_mins = _mm_fmadd_ps(_mm_set1_ps(load_f16(pw + 2) * dx), _mm_cvtepi32_ps(s.mins), acc_mins);
  }
  return hsum_f32(acc) - hsum_f32(acc_mins);
}

void sums_q4_k_q8_k(const std::byte* w, const std::byte* x, std::int64_t n_blocks,
                    std::int32_t* sums) {
  for (std::int64_t b = 0; b < n_blocks; ++b) {
    const BlockSums s = block_sums(bytes(w) + b * kWeightBytes, bytes(x) + b * kActBytes);
    sums[2 * b] = hsum_i32(s.scaled);
    sums[2 * b + 1] = hsum_i32(s.mins);
  }
}

}  // namespace whale::WHALE_AVX2_NS
