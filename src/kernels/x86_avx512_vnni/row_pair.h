// row_pair.h — what the 512-bit row-pair kernels (q8_0_512.h, q4k_512.h, q6k_512.h) share: a
// register holds row A's values in its low half and row B's in its high half. Internal linkage,
// like avx2_util.h; included only by the VNNI build.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/q8_matmul_args.h"
#include "kernels/x86_avx2/avx2_util.h"

namespace whale::WHALE_AVX2_NS {
namespace {

// What a row-pair tile reads: the two rows' first bytes, and each token's quants and block
// scales (blocks of a.block_elems, the weight's block size).
template <int TT>
struct PairTileInputs {
  const std::uint8_t* row_a;
  const std::uint8_t* row_b;
  const std::int8_t* xq[TT];
  const float* xd[TT];

  PairTileInputs(const Q8MatmulArgs& a, std::int64_t ra, std::int64_t rb, std::int64_t t0)
      : row_a(bytes(a.w) + static_cast<std::size_t>(ra) * a.w_row_bytes),
        row_b(bytes(a.w) + static_cast<std::size_t>(rb) * a.w_row_bytes) {
#pragma GCC unroll 16
    for (int t = 0; t < TT; ++t) {
      xq[t] = a.x_qs + (t0 + t) * a.cols;
      xd[t] = a.x_d + (t0 + t) * (a.cols / a.block_elems);
    }
  }
};

// Both rows' 32 bytes at offset `off` of their blocks: row A low, row B high.
inline __m512i load_pair(const std::uint8_t* wa, const std::uint8_t* wb, int off) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(load256(wa + off)), load256(wb + off), 1);
}

// The f16 scales at wa and wb as [dA ×8 | dB ×8] in f32 (exact).
inline __m512 broadcast_f16_pair(const std::uint8_t* wa, const std::uint8_t* wb) {
  std::int16_t ha, hb;
  std::memcpy(&ha, wa, 2);
  std::memcpy(&hb, wb, 2);
  return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(ha)), _mm_set1_epi16(hb), 1));
}

// The float accumulators of a row-pair tile, per token: acc = [A's 8 lanes | B's 8] and
// mins = [A's 4 | B's 4] (left zero by types without mins: adding +0.0 is the contract's empty
// min sum), all starting at zero.
template <int TT>
struct PairSums {
  __m512 acc[TT];
  __m256 mins[TT];

  PairSums() {
#pragma GCC unroll 16
    for (int t = 0; t < TT; ++t) {
      acc[t] = _mm512_setzero_ps();
      mins[t] = _mm256_setzero_ps();
    }
  }

  // The outputs of rows ra and rb for tokens t0.. (rb == ra marks a last odd row whose second
  // copy is dropped), each the contract's final sum of its lanes.
  void store(const Q8MatmulArgs& a, std::int64_t t0, std::int64_t ra, std::int64_t rb) const {
#pragma GCC unroll 16
    for (int t = 0; t < TT; ++t) {
      float* y = a.y + (t0 + t) * a.y_stride;
      y[ra] = hsum_f32(_mm512_castps512_ps256(acc[t])) + hsum_f32(_mm256_castps256_ps128(mins[t]));
      if (rb != ra)
        y[rb] = hsum_f32(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[t]), 1))) +
                hsum_f32(_mm256_extractf128_ps(mins[t], 1));
    }
  }
};

}  // namespace
}  // namespace whale::WHALE_AVX2_NS
