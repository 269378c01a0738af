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

// The 8 scales (bytes 0-7) and 8 mins (bytes 8-15) of a block in each 128-bit half of w, whose
// halves hold 16 bytes from a block's 12 scale bytes (the 4 after them are its first quants,
// ignored): the same words as unpack_scales (lanes w0, w2, w1, w2 masked to 6 or 4 bits, with
// the top 2 bits of sub-blocks 4-7 taken from w0 / w1), in vector registers. The AVX2 tiles
// unpack one block into both halves (unpack_scales_simd2), the VNNI row pairs two rows' blocks,
// one a half (q4k_512.h).
inline __m256i unpack_scales_halves(__m256i w) {
  const __m256i low_words = _mm256_srlv_epi32(_mm256_shuffle_epi32(w, _MM_SHUFFLE(2, 1, 2, 0)),
                                              _mm256_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4));
  const __m256i top_bits = _mm256_srli_epi32(_mm256_shuffle_epi32(w, _MM_SHUFFLE(1, 1, 0, 0)), 2);
  const __m256i low_mask = _mm256_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F,
                                             0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F);
  const __m256i top_mask = _mm256_setr_epi32(0, 0x30303030, 0, 0x30303030, 0, 0x30303030, 0, 0x30303030);
  return _mm256_or_si256(_mm256_and_si256(low_words, low_mask), _mm256_and_si256(top_bits, top_mask));
}

#if !defined(WHALE_VNNI)
// unpack_scales_halves' 8 mins (bytes 8-15 of a half) as int16 words: one vpshufb, a zeroed byte above
// each (a function, not a global: no vector code may run at static initialisation).
inline __m128i min_words(__m128i sm) {
  return _mm_shuffle_epi8(sm, _mm_setr_epi8(8, -128, 9, -128, 10, -128, 11, -128, 12, -128, 13, -128, 14, -128, 15, -128));
}

// unpack_scales_halves of the block's scales at s in both halves, from a broadcast load: the
// tiles' vpshufb of the scales want them there, and widening a 128-bit result took a shuffle
// (and, in Q5_K's decode, a store and a reload).
inline __m256i unpack_scales_simd2(const std::uint8_t* s) {
  return unpack_scales_halves(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s))));
}

// A block's weights as the AVX2 tiles use them: the 4 chunks of 32 nibble bytes gathered by
// 8-byte pieces (gather_pieces, packed_tokens.h), so that qword p of every product holds chunk
// p's elements and int32 lanes 2p, 2p + 1 are the contract's (kernels/q8_matmul.h, Q8Lanes::
// kByChunk). A token's four low-nibble products then add in int16 and take one vpmaddwd by the
// low sub-blocks' scales, the high ones likewise: 8 vpmaddubsw, 6 vpaddw, 2 vpmaddwd and a
// vpaddd a token and block, where the chunk by chunk products took 8, 4, 4 and 4 (prefill, in
// word pairs) or 8, 0, 8 and 8 (decode). The activations are gathered alike, once (decode:
// DecodePieces; prefill: PackedOrder::kChunkPieces). kQ5: Q5_K, the same layout with 32 bytes
// of fifth bits (qh) before the nibbles: element 64c + l takes bit 2c of qh[l], element 64c +
// 32 + l bit 2c + 1.
template <bool kQ5>
struct KBlock {
  static constexpr int kBytes = kQ5 ? 176 : kWeightBytes;
  static constexpr int kQsOffset = kQ5 ? 48 : 16;

  // The 4-bit (Q5: 5-bit) levels gathered, piece by piece: f(j, lo, hi) for j = 0..3, where
  // qword p of lo holds the low nibbles of 8 bytes of chunk p (gather_pieces: elements 64p + l)
  // and of hi the same bytes' high nibbles (elements 64p + 32 + l). Nibbles are unsigned (≤ 15,
  // Q5 ≤ 31) and x signed, so maddubs pairs are ≤ 2 · 31 · 128 and four of them added ≤ 31744:
  // exact in int16.
  template <class F>
  static void pieces(const std::uint8_t* w, F&& f) {
    const __m256i low_mask = _mm256_set1_epi8(0x0F);
    const std::uint8_t* qs = w + kQsOffset;
    const __m256i chunks[4] = {load256(qs), load256(qs + 32), load256(qs + 64), load256(qs + 96)};
    __m256i q[4];
    gather_pieces(chunks, q);
    // Q5: qh byte l serves byte l of every chunk, so gathered as all four chunks it gives each
    // piece's fifth bits, of chunk p in qword p: bits 2p (low nibble) and 2p + 1 (high), moved
    // to bits 0 and 1 by a shift of 2p. That is qh's qwords (0, 0, 2, 2), (2, 2, 0, 0),
    // (1, 1, 3, 3) and (3, 3, 1, 1) (gather_pieces), made of qword broadcasts (loads) and
    // vpblendd instead of 4 shuffles: Q5_K decode ~1 % faster.
    __m256i qh[4];
    if constexpr (kQ5) {
      const auto qword = [&](int k) { return _mm256_set1_epi64x(static_cast<long long>(load_u64(w + 16 + 8 * k))); };
      const __m256i q0 = qword(0), q1 = qword(1), q2 = qword(2), q3 = qword(3);
      qh[0] = _mm256_blend_epi32(q0, q2, 0xF0);
      qh[1] = _mm256_blend_epi32(q2, q0, 0xF0);
      qh[2] = _mm256_blend_epi32(q1, q3, 0xF0);
      qh[3] = _mm256_blend_epi32(q3, q1, 0xF0);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      __m256i lo = _mm256_and_si256(q[j], low_mask);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q[j], 4), low_mask);
      if constexpr (kQ5) {
        const __m256i bits = _mm256_srlv_epi64(qh[j], _mm256_setr_epi64x(0, 2, 4, 6));
        const __m256i bit4 = _mm256_set1_epi8(0x10);
        // bits << 3 and its double (a vpaddb, not a second shift: Q5_K decode ~1 % faster)
        const __m256i hi_at4 = _mm256_slli_epi16(bits, 3);
        lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_add_epi8(hi_at4, hi_at4), bit4));
        hi = _mm256_or_si256(hi, _mm256_and_si256(hi_at4, bit4));
      }
      f(j, lo, hi);
    }
  }

  static void levels(const std::uint8_t* w, __m256i lo[4], __m256i hi[4]) {
    pieces(w, [&](int j, __m256i l, __m256i h) {
      lo[j] = l;
      hi[j] = h;
    });
  }

  // The scale words of the gathered products: word k (qword k / 4, chunk k / 4) takes
  // sc[2 (k / 4)] in the low nibbles' products, sc[2 (k / 4) + 1] in the high ones'. One
  // vpshufb of the scale bytes each (sm2: unpack_scales_simd2), a zeroed
  // byte above each.
  static void scales(__m256i sm2, __m256i& lo, __m256i& hi) {
    const auto words = [&](short s0, short s1, short s2, short s3) {
      return _mm256_shuffle_epi8(sm2, _mm256_setr_epi16(s0, s0, s0, s0, s1, s1, s1, s1, s2, s2, s2, s2, s3, s3, s3, s3));
    };
    constexpr short kZeroAbove = static_cast<short>(0x8000);
    lo = words(kZeroAbove | 0, kZeroAbove | 2, kZeroAbove | 4, kZeroAbove | 6);
    hi = words(kZeroAbove | 1, kZeroAbove | 3, kZeroAbove | 5, kZeroAbove | 7);
  }
};

// Decode's activations gathered like the weights (gather_pieces; each block's 8 groups in the
// order of PackedOrder::kChunkPieces), once per call and thread for all its rows (DerivedX; 8
// loads, 16 operations and 8 stores a block, about one row's work).
inline const std::int8_t* decode_pieces(const Q8MatmulArgs& a) {
  thread_local DerivedX pieces;
  const std::int64_t n = a.n_tokens * a.cols;
  return reinterpret_cast<const std::int8_t*>(
      pieces.get(a.x_generation, a.x_qs, static_cast<std::size_t>(n), [&](std::uint8_t* out) {
        for (std::int64_t i = 0; i < n; i += 256)
          gather_block_pieces(
              [&](int g) { return load256(reinterpret_cast<const std::uint8_t*>(a.x_qs + i + 32 * g)); },
              [&](int k, __m256i v) { _mm256_store_si256(reinterpret_cast<__m256i*>(out + i + 32 * k), v); });
      }));
}

// The int16 sum of the four products of one nibble half's gathered levels w[j] with a token's
// gathered quants x + 32 j (exact: KBlock::pieces).
inline __m256i half_products(const __m256i w[4], const std::int8_t* x) {
  const auto product = [&](int j) {
    return _mm256_maddubs_epi16(w[j], _mm256_load_si256(reinterpret_cast<const __m256i*>(x + 32 * j)));
  };
  return _mm256_add_epi16(_mm256_add_epi16(product(0), product(1)), _mm256_add_epi16(product(2), product(3)));
}

// Decode: one row × TT tokens (contract in kernels/q8_matmul.h), TT ≤ 2: one token, and the
// tokens of a matmul with 2 or 3 (an MoE expert's share of a short prefill, which the packed
// 8-token tiles ran at barely more than one token's speed: the block's scale table and the
// chunk's packing for 2 tokens; cache-hot one core, 2048x7168, GOP/s: 1 token 73, 2 tokens
// 82, 3 tokens 67). xp: the tokens' quants gathered (decode_pieces), a.cols bytes a token.
// Against the chunk by chunk products (8 vpmaddwd a block, not 2), cache-hot, one Zen 4 core,
// best of 5 alternated in one process, GOP/s at the 4 kernel-bench shapes: Q4_K 94 / 87 / 88 /
// 95 -> 104 / 98 / 98 / 104, Q5_K 66 / 63 / 63 / 66 -> 68 / 64.5 / 65 / 68.5.
template <int TT, bool kQ5>
void decode_tile(const Q8MatmulArgs& a, const std::int8_t* xp, std::int64_t r, std::int64_t t0) {
  using B = KBlock<kQ5>;
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* w = bytes(a.w) + static_cast<std::size_t>(r) * a.w_row_bytes;
  const std::int8_t* xq = xp + t0 * a.cols;
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
    // Each scale vector by one vpshufb of the scale bytes (a stored table's broadcast loads
    // waited on its store).
    const __m256i sm2 = unpack_scales_simd2(w + 4);
    const __m128i sm = _mm256_castsi256_si128(sm2);
    __m256i scale_lo, scale_hi;
    B::scales(sm2, scale_lo, scale_hi);
    // Piece by piece, into int16 sums (exact, KBlock::pieces): with all 8 levels made first,
    // Q5_K's ran out of registers (spills; 8 % slower than the chunk by chunk products).
    __m256i sum_lo[TT], sum_hi[TT];
    B::pieces(w, [&](int j, __m256i lo, __m256i hi) {
#pragma GCC unroll 2
      for (int t = 0; t < TT; ++t) {
        const std::int8_t* x = xq + t * a.cols + 32 * j;
        const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_load_si256(reinterpret_cast<const __m256i*>(x)));
        const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_load_si256(reinterpret_cast<const __m256i*>(x + 128)));
        sum_lo[t] = j == 0 ? pl : _mm256_add_epi16(sum_lo[t], pl);
        sum_hi[t] = j == 0 ? ph : _mm256_add_epi16(sum_hi[t], ph);
      }
    });
    __m256i lanes[TT];
#pragma GCC unroll 2
    for (int t = 0; t < TT; ++t)
      lanes[t] = _mm256_add_epi32(_mm256_madd_epi16(sum_lo[t], scale_lo), _mm256_madd_epi16(sum_hi[t], scale_hi));
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

// Prefill tiles: kPrefillTileRows rows × up to kPrefillTileTokens tokens (packed_tile). A
// block's tokens' quants (kPrefillTileTokens × 256 bytes) stay in L1 while the rows take it;
// cache-hot, one Zen 4 core, Q4_K 2048x7168 / 7168x2048, 64 tokens, best of 3, GOP/s: 32
// tokens × 1 row 182 / 164, × 2 rows 195 / 170, × 4 204 / 181, × 8 196 / 184; 64 × 4 208 / 168,
// 16 × 4 204 / 186.
constexpr int kPrefillTileTokens = 32;
constexpr int kPrefillTileRows = 4;

// Prefill: kRows rows × `tokens` (≤ kPrefillTileTokens) of a packed chunk (packed_tokens.h,
// PackedOrder::kChunkPieces). A row's gathered levels of a block and its two scale vectors stay
// in 10 registers while the tokens run one after another, each to its f32 step: no token's
// lanes wait in a register for the others, so the tile's width is not bound by the 16
// registers (the 8-token tiles held 8 tokens' lanes and unpacked each block for those 8). The
// rows take block b in turn, so that the tokens' quants of block b come from L1 for all but
// the first. The min lanes of 8 tokens take one vpmaddwd per lane k. Against the 8-token tiles
// in word pairs, cache-hot, one Zen 4 core, 64 tokens, best of 3 alternated in one process,
// GOP/s at the 4 kernel-bench shapes: Q4_K 164 / 154 / 156 / 166 -> 205 / 172 / 195 / 214,
// Q5_K 152 / 141 / 143 / 155 -> 199 / 168 / 190 / 207; 5 and 13 tokens +22-52 %.
template <int kRows, bool kQ5>
[[gnu::noinline]] void packed_tile(const Q8MatmulArgs& a, const PackedTokens& x, std::int64_t r0, std::int64_t t0, int tokens) {
  using B = KBlock<kQ5>;
  const int vecs = (tokens + 7) / 8;  // f32 vectors of 8 tokens (a narrower tile's extra lanes are ignored)
  const std::int64_t nb = a.cols / 256;
  const std::uint8_t* w0 = bytes(a.w) + static_cast<std::size_t>(r0) * a.w_row_bytes;
  const std::int8_t* xq = x.quants(t0);
  const float* xd = x.scales(t0);
  const std::int16_t* xm = x.min_sums(t0);
  constexpr int kMaxVecs = kPrefillTileTokens / 8;
  alignas(32) float acc[kRows][kPrefillTileTokens][8];
  alignas(32) float mins[kRows][4][8 * kMaxVecs];  // mins[i][k][t]: row i's, token t's min lane k
  alignas(32) float dd[8 * kMaxVecs];              // d·dx of each token
  alignas(16) std::int32_t min_pairs[4];
  for (int i = 0; i < kRows; ++i) {
    for (int t = 0; t < tokens; ++t) _mm256_store_ps(acc[i][t], _mm256_setzero_ps());
    for (int k = 0; k < 4; ++k)
      for (int v = 0; v < vecs; ++v) _mm256_store_ps(mins[i][k] + 8 * v, _mm256_setzero_ps());
  }
  for (std::int64_t b = 0; b < nb; ++b, xq += 256 * tokens, xd += tokens, xm += 8 * tokens) {
    prefetch_rows_in_order<B::kBytes, kRows>(w0, a.w_row_bytes, b);
    for (int i = 0; i < kRows; ++i) {
      const std::uint8_t* w = w0 + i * a.w_row_bytes + b * B::kBytes;
      const __m256i sm2 = unpack_scales_simd2(w + 4);
      __m256i scale_lo, scale_hi;
      B::scales(sm2, scale_lo, scale_hi);
      __m256i lo[4], hi[4];
      B::levels(w, lo, hi);
      const __m256 d = _mm256_set1_ps(load_f16(w));
      for (int v = 0; v < vecs; ++v) _mm256_store_ps(dd + 8 * v, _mm256_mul_ps(d, _mm256_loadu_ps(xd + 8 * v)));
      asm("" : "+m"(dd));
      const std::int8_t* xt = xq;
      float* acc_t = acc[i][0];
#pragma GCC unroll 2
      for (int t = 0; t < tokens; ++t, xt += 256, acc_t += 8) {
        const __m256i lanes = _mm256_add_epi32(_mm256_madd_epi16(half_products(lo, xt), scale_lo),
                                               _mm256_madd_epi16(half_products(hi, xt + 128), scale_hi));
        _mm256_store_ps(acc_t, _mm256_fmadd_ps(_mm256_broadcast_ss(dd + t), _mm256_cvtepi32_ps(lanes), _mm256_load_ps(acc_t)));
      }
      // Lane k: m_2k · (sum of x's group 2k) + m_2k+1 · (group 2k + 1), the min pair as a
      // broadcast load (vpbroadcastd m32 needs no shuffle unit).
      _mm_store_si128(reinterpret_cast<__m128i*>(min_pairs), min_words(_mm256_castsi256_si128(sm2)));
      asm("" : "+m"(min_pairs));
      const __m256 dmin = _mm256_set1_ps(load_f16(w + 2));
      for (int v = 0; v < vecs; ++v) {
        const __m256 dmin_dx = _mm256_mul_ps(dmin, _mm256_loadu_ps(xd + 8 * v));
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          const __m256i sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xm + 2 * (k * tokens + 8 * v)));
          const __m256i lane_k = _mm256_madd_epi16(sums, _mm256_set1_epi32(min_pairs[k]));
          float* m = mins[i][k] + 8 * v;
          _mm256_store_ps(m, _mm256_fnmadd_ps(dmin_dx, _mm256_cvtepi32_ps(lane_k), _mm256_load_ps(m)));
        }
      }
    }
  }
  for (int i = 0; i < kRows; ++i)
    for (int t = 0; t < tokens; ++t)
      a.y[(t0 + t) * a.y_stride + r0 + i] =
          hsum_f32(_mm256_load_ps(acc[i][t])) + ((mins[i][0][t] + mins[i][2][t]) + (mins[i][1][t] + mins[i][3][t]));
}
#endif

}  // namespace
}  // namespace whale::WHALE_AVX2_NS

#if defined(WHALE_VNNI)
// The VNNI build runs 512-bit row-pair tiles instead (they use unpack_scales_halves above).
#include "kernels/x86_avx512_vnni/q4k_512.h"
#endif

namespace whale::WHALE_AVX2_NS {
namespace {

template <bool kQ5>
void matmul_rows(const Q8MatmulArgs& a) {
#if defined(WHALE_VNNI)
  if (a.n_tokens == 1) {  // decode: only the pieces to gather
    matmul_rows_512_one<kQ5>(a, a.row_begin, a.row_end, 0, PiecesTwice(a));
    return;
  }
  for_each_packed_row_pair_tile<64>(
      a, ChunkSums::kTokenPairs, PackedX::kPiecesByChunk,
      [&](auto tt, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t) {
        constexpr int TT = decltype(tt)::value;
        if constexpr (TT == 1)
          matmul_rows_512_one<kQ5>(a, ra, rb + 1, t, PackedPieces{x.quants(t)});
        else
          matmul_tile_512_packed<TT, kQ5>(a, x, ra, rb, t);
      });
#else
  if (a.n_tokens <= kDecodeTileTokens) {
    const std::int8_t* xp = decode_pieces(a);
    for (std::int64_t r = a.row_begin; r < a.row_end; ++r)
      for_each_decode_token_tile(a.n_tokens, [&](auto tt, std::int64_t t) { decode_tile<decltype(tt)::value, kQ5>(a, xp, r, t); });
    return;
  }
  for_each_packed_rows_tile<kPrefillTileTokens, kPrefillTileRows>(
      a, PackedSums::kKQuantMins, false, [&](auto rows, const PackedTokens& x, std::int64_t r, std::int64_t t, int tokens) {
        packed_tile<decltype(rows)::value, kQ5>(a, x, r, t, tokens);
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
