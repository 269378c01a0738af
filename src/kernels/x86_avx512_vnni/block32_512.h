// block32_512.h — Q8_0's prefill on 512-bit registers, two weight rows per register, for the
// VNNI build only (included by ../x86_avx2/q8_0_matmul.cpp when WHALE_VNNI is defined). As in
// q4k_512.h, row A's 32 levels fill the low half and row B's the high half, against the block's
// 32 activations broadcast to both halves, so vpdpbusd's int32 lanes are the contract's 8 lanes
// of A then of B (kernels/q8_matmul.h, lanes by position) and one convert + FMA serves two rows.
// (The nibble types, whose lanes by nibble byte fit four rows a register, run nibble32_512.h.)
//
// vpdpbusd wants one unsigned operand and AVX-512 has no vpsignb, so instead of moving the
// weight's sign onto x (the AVX2 kernels) x is biased: x + 128 = x ^ 0x80 is unsigned, and
// Σ (x + 128)·w = Σ x·w + 128·Σ w, so each lane starts from −128·Σ w (one vpdpbusd of the
// levels with 128 per row pair and block, shared by every token). All exact in int32.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/x86_avx2/avx2_util.h"
#include "kernels/x86_avx512_vnni/row_pair.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// Dword j of [A | B] to position 2j (j < 8) or 2 (j − 8) + 1: the rows' 4-level groups
// interleaved (its inverse is even_then_odd_dwords).
inline __m512i interleave_rows() { return _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15); }

// Rows ra and rb (rb = ra for a last odd row: computed twice, its copy dropped) × the TT tokens
// of the packed tile at t0 (PackedX::kBiasedTwice). Pair::kBytes is the block size,
// Pair::unpack(wa, wb) the two rows' levels as [A | B].
//
// The rows' 4-level groups alternate in the register (even int32 lanes row A's, odd lanes row
// B's) against each 4-quant group of x twice, so a token's scale vector [dA·dx, dB·dx, dA·dx,
// ...] is one 64-bit broadcast load: the products dA·dx and dB·dx of all TT tokens take
// TT / 8 multiplies a block, stored to `scales`, where the [dA ×8 | dB ×8] layout multiplied
// per token and block (vpdpbusd, vmulps, vcvtdq2ps, vfmadd a token: 4 uops on the 2 ports of
// 512-bit vector work, now 3). Each lane still accumulates its own row's lane of the contract,
// in the same order. Cache-hot, one thread, 64 tokens, alternated (whale-kernels-bench): Q8_0
// 1408×2048 1.07 → 1.11 GB/s of weights, 1536×8960 1.10 → 1.13 (less than the uop count
// promises: x twice doubles the tile's activation bytes; an experiment that also loaded the
// 128·Σ x starts instead of copying −128·Σ w ran 30 % slower).
template <class Pair, int TT>
void block32_tile_512(const Q8MatmulArgs& a, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t0) {
  const std::uint8_t* row_a = bytes(a.w) + static_cast<std::size_t>(ra) * a.w_row_bytes;
  const std::uint8_t* row_b = bytes(a.w) + static_cast<std::size_t>(rb) * a.w_row_bytes;
  const std::uint8_t* xq = x.quants(t0);
  const float* xd = x.scales(t0);  // each twice
  PairSums<TT> sums;
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  constexpr int kScaleVectors = (2 * TT + 15) / 16;
  alignas(64) float scales[2][16 * kScaleVectors];
  // Block b's products dA·dx, dB·dx into scales[b % 2] (every type here starts its blocks with
  // an f16 d).
  const auto scale_products = [&](std::int64_t b) {
    const __m512 d =
        _mm512_permutexvar_ps(interleave_rows(), broadcast_f16_pair(row_a + b * Pair::kBytes, row_b + b * Pair::kBytes));
    const float* dx = xd + 2 * TT * b;
#pragma GCC unroll 4
    for (int v = 0; v < kScaleVectors; ++v) {
      const int n = 2 * TT - 16 * v < 16 ? 2 * TT - 16 * v : 16;
      const __mmask16 valid = static_cast<__mmask16>((1u << n) - 1);
      _mm512_store_ps(scales[b % 2] + 16 * v, _mm512_mul_ps(d, _mm512_maskz_loadu_ps(valid, dx + 16 * v)));
    }
  };
  const std::int64_t nb = a.cols / 32;
  // Block b's interleaved levels and its lanes' start −128·Σ w (0 − Σ 128·w).
  struct Unpacked {
    __m512i levels, start;
  };
  const auto unpack = [&](std::int64_t b) {
    const std::uint8_t* wa = row_a + b * Pair::kBytes;
    const std::uint8_t* wb = row_b + b * Pair::kBytes;
    prefetch_ahead<Pair::kBytes>(wa);
    prefetch_ahead<Pair::kBytes>(wb);
    Unpacked u{_mm512_permutexvar_epi32(interleave_rows(), Pair::unpack(wa, wb)), {}};
    u.start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, u.levels));
    return u;
  };
  scale_products(0);
  Unpacked next = unpack(0);
  for (std::int64_t b = 0; b < nb; ++b, xq += 64 * TT) {
    const __m512i levels = next.levels, start = next.start;
    // The next block's unpacking and products come first: the tokens' vpdpbusd of a block wait
    // on its start (loads, a permute, a vpdpbusd: ~15 cycles), and with the unpacking
    // behind them the scheduler filled with waiting links before it saw the next start.
    // A block ahead, the broadcast loads below also find their products in the cache rather
    // than waiting on stores just issued.
    if (b + 1 < nb) {
      next = unpack(b + 1);
      scale_products(b + 1);
    }
    // Reload each token's pair from memory (a broadcast load, no vector uop): left to itself
    // the compiler keeps the products in registers and spreads them with shuffles, a uop a
    // token on the port the float step needs.
    asm volatile("" ::: "memory");
    const float* products = scales[b % 2];
#pragma GCC unroll 16
    for (int t = 0; t < TT; ++t) {
      const __m512i lanes = _mm512_dpbusd_epi32(start, _mm512_loadu_si512(xq + 64 * t), levels);
      double scale_pair;  // [dA·dx, dB·dx] as one 64-bit element
      std::memcpy(&scale_pair, products + 2 * t, sizeof scale_pair);
      const __m512 scale = _mm512_castpd_ps(_mm512_set1_pd(scale_pair));
      sums.acc[t] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(lanes), sums.acc[t]);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < TT; ++t) sums.acc[t] = _mm512_permutexvar_ps(even_then_odd_dwords(), sums.acc[t]);
  sums.store(a, t0, ra, rb);
}

// The prefill of Q8_0: rows in pairs, each token chunk repacked first.
template <class Pair>
void block32_matmul_512(const Q8MatmulArgs& a) {
  for_each_packed_row_pair_tile<16>(a, ChunkSums::kNone, PackedX::kBiasedTwice,
                                    [&](auto tt, const PackedChunk& x, std::int64_t ra, std::int64_t rb, std::int64_t t) {
                                      block32_tile_512<Pair, decltype(tt)::value>(a, x, ra, rb, t);
                                    });
}

// Q8_0: f16 d, then 32 int8 quants.
struct Q8_0Pair {
  static constexpr int kBytes = 34;
  static __m512i unpack(const std::uint8_t* wa, const std::uint8_t* wb) { return load_pair(wa, wb, 2); }
};

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
