// block32_512.h — the matmul of the 32-element block types (Q8_0, and Q4_0, Q4_1, Q5_0, Q5_1,
// IQ4_NL unpacked to levels) on 512-bit registers, two weight rows per register, for the VNNI
// build only (included by ../x86_avx2/q8_0_matmul.cpp and legacy_matmul.cpp when WHALE_VNNI is
// defined). As in q4k_512.h, row A's 32 levels fill the low half and row B's the high half,
// against the block's 32 activations broadcast to both halves, so vpdpbusd's int32 lanes are
// the contract's 8 lanes of A then of B (kernels/q8_matmul.h) and one convert + FMA serves two
// rows.
//
// vpdpbusd wants one unsigned operand and AVX-512 has no vpsignb, so instead of moving the
// weight's sign onto x (the AVX2 kernels) x is biased: x + 128 = x ^ 0x80 is unsigned, and
// Σ (x + 128)·w = Σ x·w + 128·Σ w, so each lane starts from −128·Σ w (one vpdpbusd of the
// levels with 128 per row pair and block, shared by every token). All exact in int32.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// One block of two rows, unpacked.
struct Block32Pair {
  __m512i levels;  // [A's 32 signed levels | B's]
  __m512 d;        // [dA ×8 | dB ×8]
  __m256 m;        // [mA ×4 | mB ×4]: the mins of Q4_1 / Q5_1, else unused
};

// A token chunk's activations repacked for the tiles, once per chunk and thread: each tile of
// TT tokens block-major (block b's TT quant rows, then block b + 1's), so a tile reads its
// tokens at fixed offsets from one pointer, with the quants already biased. Without it each
// token cost a pointer reload (16 live pointers do not fit the general registers) and an xor:
// 7 vector uops per token, row pair and block where the product needs 4.
class PackedChunk {
 public:
  PackedChunk() = default;
  PackedChunk(const PackedChunk&) = delete;
  PackedChunk& operator=(const PackedChunk&) = delete;
  ~PackedChunk() { std::free(quants_); }

  // Repacks tokens [t0, t1) of a, in the tiles for_each_token_tile<kWide> makes.
  template <int kWide>
  void pack(const Q8MatmulArgs& a, std::int64_t t0, std::int64_t t1, bool with_sums) {
    t0_ = t0;
    nb_ = a.cols / 32;
    reserve(static_cast<std::size_t>(t1 - t0) * static_cast<std::size_t>(a.cols));
    const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
    for_each_token_tile<kWide>(t0, t1, [&](auto tt, std::int64_t t) {
      constexpr int TT = decltype(tt)::value;
      std::uint8_t* q = quants(t);
      float* d = scales(t);
      float* s = sums(t);
      for (std::int64_t b = 0; b < nb_; ++b)
        for (int j = 0; j < TT; ++j, q += 32) {
          const std::int64_t token = t + j;
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), _mm256_xor_si256(load256(reinterpret_cast<const std::uint8_t*>(a.x_qs + token * a.cols + 32 * b)), bias));
          d[b * TT + j] = a.x_d[token * nb_ + b];
          if (with_sums) {
            const std::int16_t* xs16 = a.x_sums16 + token * (a.cols / 16) + 2 * b;
            s[b * TT + j] = static_cast<float>(xs16[0] + xs16[1]);
          }
        }
    });
  }

  // The tile starting at token t: quant row j of block b at quants(t) + 32 (b·TT + j), its
  // scale at scales(t)[b·TT + j], the sum of its 32 quants (as f32, exact) at sums(t)[b·TT + j].
  const std::uint8_t* quants(std::int64_t t) const { return quants_ + (t - t0_) * nb_ * 32; }
  const float* scales(std::int64_t t) const { return scales_ + (t - t0_) * nb_; }
  const float* sums(std::int64_t t) const { return sums_ + (t - t0_) * nb_; }

 private:
  std::uint8_t* quants(std::int64_t t) { return quants_ + (t - t0_) * nb_ * 32; }
  float* scales(std::int64_t t) { return scales_ + (t - t0_) * nb_; }
  float* sums(std::int64_t t) { return sums_ + (t - t0_) * nb_; }

  // Grows (never shrinks) to quant_bytes of quants and a scale and a sum per 32 of them.
  void reserve(std::size_t quant_bytes) {
    if (quant_bytes <= capacity_) return;
    std::free(quants_);
    const std::size_t floats = quant_bytes / 32;
    quants_ = static_cast<std::uint8_t*>(std::aligned_alloc(64, quant_bytes + 2 * floats * sizeof(float) + 64));
    if (quants_ == nullptr) throw std::bad_alloc();
    scales_ = reinterpret_cast<float*>(quants_ + quant_bytes);
    sums_ = scales_ + floats;
    capacity_ = quant_bytes;
  }

  std::uint8_t* quants_ = nullptr;
  float* scales_ = nullptr;
  float* sums_ = nullptr;
  std::size_t capacity_ = 0;
  std::int64_t t0_ = 0, nb_ = 0;
};

// Rows ra and rb (rb = ra for a last odd row: computed twice, its copy dropped) × the TT tokens
// of the packed tile at t0. Pair::kBytes is the block size, Pair::kHasMin whether it has a min
// (whose term lands in min lane 0, m·d_x·Σx, lanes 1-3 exact zeros), Pair::unpack(wa, wb) a
// Block32Pair.
template <class Pair, int TT>
void block32_tile_512(const Q8MatmulArgs& a, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t0) {
  const std::uint8_t* row_a = bytes(a.w) + static_cast<std::size_t>(ra) * a.w_row_bytes;
  const std::uint8_t* row_b = bytes(a.w) + static_cast<std::size_t>(rb) * a.w_row_bytes;
  const std::uint8_t* xq = x.quants(t0);
  const float* xd = x.scales(t0);
  const float* xs = x.sums(t0);
  PairSums<TT> sums;
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  const std::int64_t nb = a.cols / 32;
  for (std::int64_t b = 0; b < nb; ++b, xq += 32 * TT, xd += TT, xs += TT) {
    const std::uint8_t* wa = row_a + b * Pair::kBytes;
    const std::uint8_t* wb = row_b + b * Pair::kBytes;
    prefetch_ahead<Pair::kBytes>(wa);
    prefetch_ahead<Pair::kBytes>(wb);
    const Block32Pair w = Pair::unpack(wa, wb);
    // −128·Σ w per lane: 0 − Σ 128·w.
    const __m512i start =
        _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, w.levels));
#pragma GCC unroll 16
    for (int t = 0; t < TT; ++t) {
      const __m512i lanes = _mm512_dpbusd_epi32(start, _mm512_broadcast_i64x4(load256(xq + 32 * t)), w.levels);
      const __m512 dx = _mm512_set1_ps(xd[t]);
      sums.acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(w.d, dx), _mm512_cvtepi32_ps(lanes), sums.acc[t]);
      if constexpr (Pair::kHasMin) {
        const __m256 xsum = _mm256_setr_ps(xs[t], 0.0f, 0.0f, 0.0f, xs[t], 0.0f, 0.0f, 0.0f);
        sums.mins[t] = _mm256_fmadd_ps(_mm256_mul_ps(w.m, _mm512_castps512_ps256(dx)), xsum, sums.mins[t]);
      }
    }
  }
  sums.store(a, t0, ra, rb);
}

// The prefill of a 32-element block type: rows in pairs, each token chunk repacked first.
template <class Pair>
void block32_matmul_512(const Q8MatmulArgs& a) {
  thread_local PackedChunk packed;
  constexpr int kWide = Pair::kHasMin ? kPrefillTokens : 16;
  for_each_row_pair_tile<kWide>(
      a,
      [&](auto tt, std::int64_t ra, std::int64_t rb, std::int64_t t) {
        block32_tile_512<Pair, decltype(tt)::value>(a, packed, ra, rb, t);
      },
      [&](std::int64_t t0, std::int64_t t1) { packed.pack<kWide>(a, t0, t1, Pair::kHasMin); });
}

// Q8_0: f16 d, then 32 int8 quants.
struct Q8_0Pair {
  static constexpr int kBytes = 34;
  static constexpr bool kHasMin = false;
  static Block32Pair unpack(const std::uint8_t* wa, const std::uint8_t* wb) {
    return {load_pair(wa, wb, 2), broadcast_f16_pair(wa, wb), _mm256_setzero_ps()};
  }
};

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
