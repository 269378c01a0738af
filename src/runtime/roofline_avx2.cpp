// roofline_avx2.cpp — the AVX2/FMA measuring loops (compiled with -mavx2 -mfma, called only
// after detect_simd_level() saw both). Only intrinsics here: an inline library function
// compiled with AVX2 could be chosen by the linker for scalar callers too. roofline_vnni.cpp
// compiles this file again with AVX512-VNNI into namespace roofline_isa_vnni: the int8 chains
// then use the kernels' VNNI instructions (the same helpers as the kernels, avx2_util.h).
#include <immintrin.h>

#include "kernels/x86_avx2/avx2_util.h"
#include "runtime/roofline_isa.h"

#ifndef WHALE_ROOFLINE_NS
#define WHALE_ROOFLINE_NS roofline_isa
#endif

namespace whale::WHALE_ROOFLINE_NS {
namespace {

using WHALE_AVX2_NS::dot_u8s8_add;
using WHALE_AVX2_NS::madd_add;

// Hides a register's value from the optimiser so loop-invariant work is redone each round.
inline void opaque(__m256i& v) { asm volatile("" : "+x"(v)); }

inline std::uint64_t lanes_sum(__m256i v) {
  alignas(32) std::uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

std::uint64_t read_sum_impl(const std::uint64_t* words, std::size_t n) {
  // Four accumulators of 32-byte loads: two cache lines per round keep the load ports busy.
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const auto* p = reinterpret_cast<const __m256i*>(words + i);
    a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(p));
    a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(p + 1));
    a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(p + 2));
    a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(p + 3));
  }
  std::uint64_t s = lanes_sum(_mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
  for (; i < n; ++i) s += words[i];
  return s;
}

std::uint64_t fma_impl(std::uint64_t iterations, float* sink) {
  // Ten independent chains cover the FMA latency (4 cycles) times two FMA pipes with room to
  // spare; x * a + b with a just below 1 stays finite for any iteration count.
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
  __m256 c0 = _mm256_set1_ps(0.1f), c1 = _mm256_set1_ps(0.2f), c2 = _mm256_set1_ps(0.3f),
         c3 = _mm256_set1_ps(0.4f), c4 = _mm256_set1_ps(0.5f), c5 = _mm256_set1_ps(0.6f),
         c6 = _mm256_set1_ps(0.7f), c7 = _mm256_set1_ps(0.8f), c8 = _mm256_set1_ps(0.9f),
         c9 = _mm256_set1_ps(1.0f);
  for (std::uint64_t i = 0; i < iterations; ++i) {
    c0 = _mm256_fmadd_ps(c0, a, b);
    c1 = _mm256_fmadd_ps(c1, a, b);
    c2 = _mm256_fmadd_ps(c2, a, b);
    c3 = _mm256_fmadd_ps(c3, a, b);
    c4 = _mm256_fmadd_ps(c4, a, b);
    c5 = _mm256_fmadd_ps(c5, a, b);
    c6 = _mm256_fmadd_ps(c6, a, b);
    c7 = _mm256_fmadd_ps(c7, a, b);
    c8 = _mm256_fmadd_ps(c8, a, b);
    c9 = _mm256_fmadd_ps(c9, a, b);
  }
  const __m256 s = _mm256_add_ps(
      _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                    _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7))),
      _mm256_add_ps(c8, c9));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  *sink = lanes[0] + lanes[7];
  return iterations * 10 * 8 * 2;
}

std::uint64_t int8_impl(std::uint64_t iterations, std::int32_t* sink) {
  // Six products per round from three unsigned and two signed operands; the operands are made
  // opaque each round so the products cannot be hoisted out of the loop.
  __m256i u0 = _mm256_set1_epi8(1), u1 = _mm256_set1_epi8(2), u2 = _mm256_set1_epi8(3);
  __m256i s0 = _mm256_set1_epi8(-1), s1 = _mm256_set1_epi8(2);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    opaque(u0);
    opaque(u1);
    opaque(u2);
    // The K-quant kernels' step: u8 x s8 pairs, then the pairs times the (here unit) scale.
    a0 = madd_add(a0, _mm256_maddubs_epi16(u0, s0), ones);
    a1 = madd_add(a1, _mm256_maddubs_epi16(u1, s0), ones);
    a2 = madd_add(a2, _mm256_maddubs_epi16(u2, s0), ones);
    a3 = madd_add(a3, _mm256_maddubs_epi16(u0, s1), ones);
    a4 = madd_add(a4, _mm256_maddubs_epi16(u1, s1), ones);
    a5 = madd_add(a5, _mm256_maddubs_epi16(u2, s1), ones);
  }
  const __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
                                     _mm256_add_epi32(a4, a5));
  alignas(32) std::int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  // Wrapping is fine: the sum only keeps the work alive.
  *sink = static_cast<std::int32_t>(static_cast<std::uint32_t>(lanes[0]) + static_cast<std::uint32_t>(lanes[7]));
  return iterations * 6 * 32 * 2;
}

#if defined(WHALE_VNNI)
// int8_impl on 512-bit registers: the chain of the VNNI build's Q4_K, Q5_K and Q6_K kernels
// (x86_avx512_vnni/q4k_512.h, q6k_512.h). On Xeons with two 512-bit multiply ports it does
// twice the work of the 256-bit chain per instruction.
std::uint64_t int8_512_impl(std::uint64_t iterations, std::int32_t* sink) {
  __m512i u0 = _mm512_set1_epi8(1), u1 = _mm512_set1_epi8(2), u2 = _mm512_set1_epi8(3);
  const __m512i s0 = _mm512_set1_epi8(-1), s1 = _mm512_set1_epi8(2);
  const __m512i ones = _mm512_set1_epi16(1);
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    asm volatile("" : "+v"(u0), "+v"(u1), "+v"(u2));
    a0 = _mm512_dpwssd_epi32(a0, _mm512_maddubs_epi16(u0, s0), ones);
    a1 = _mm512_dpwssd_epi32(a1, _mm512_maddubs_epi16(u1, s0), ones);
    a2 = _mm512_dpwssd_epi32(a2, _mm512_maddubs_epi16(u2, s0), ones);
    a3 = _mm512_dpwssd_epi32(a3, _mm512_maddubs_epi16(u0, s1), ones);
    a4 = _mm512_dpwssd_epi32(a4, _mm512_maddubs_epi16(u1, s1), ones);
    a5 = _mm512_dpwssd_epi32(a5, _mm512_maddubs_epi16(u2, s1), ones);
  }
  const __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                     _mm512_add_epi32(a4, a5));
  alignas(64) std::int32_t lanes[16];
  _mm512_store_si512(lanes, s);
  *sink = static_cast<std::int32_t>(static_cast<std::uint32_t>(lanes[0]) + static_cast<std::uint32_t>(lanes[15]));
  return iterations * 6 * 64 * 2;
}
#endif

#if defined(WHALE_VNNI)
// What the VNNI build's Q8_0 prefill kernel issues per 64 products (two rows of 32,
// x86_avx512_vnni/q8_0_512.h): vpxord (x biased to unsigned), vpdpbusd, vcvtdq2ps and the f32
// multiply-add with the block scale, on 512-bit registers.
std::uint64_t int8_q8_block_512_impl(std::uint64_t iterations, float* sink) {
  __m512i x0 = _mm512_set1_epi8(-2), x1 = _mm512_set1_epi8(4);
  const __m512i w0 = _mm512_set1_epi8(3), w1 = _mm512_set1_epi8(-5), w2 = _mm512_set1_epi8(7);
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80)), start = _mm512_set1_epi32(-128);
  const __m512 d = _mm512_set1_ps(1e-9f);
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  const auto step = [&](__m512 acc, __m512i w, __m512i x) {
    const __m512i s = _mm512_dpbusd_epi32(start, _mm512_xor_si512(x, bias), w);
    return _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), acc);
  };
  for (std::uint64_t i = 0; i < iterations; ++i) {
    asm volatile("" : "+v"(x0), "+v"(x1));
    a0 = step(a0, w0, x0);
    a1 = step(a1, w1, x0);
    a2 = step(a2, w2, x0);
    a3 = step(a3, w0, x1);
    a4 = step(a4, w1, x1);
    a5 = step(a5, w2, x1);
  }
  const __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                 _mm512_add_ps(a4, a5));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  *sink = lanes[0] + lanes[15];
  return iterations * 6 * 64 * 2;
}
#endif

std::uint64_t int8_q8_block_impl(std::uint64_t iterations, float* sink) {
  // What the Q8_0 matmul kernel issues per 32 products (kernels/x86_avx2/q8_0_matmul.cpp):
  // vpsignb (the weight's sign moved onto x), vpmaddubsw, vpmaddwd, vcvtdq2ps, and an f32
  // multiply-add with the block scale. Six independent chains cover the FMA latency.
  __m256i w0 = _mm256_set1_epi8(3), w1 = _mm256_set1_epi8(-5), w2 = _mm256_set1_epi8(7);
  __m256i x0 = _mm256_set1_epi8(-2), x1 = _mm256_set1_epi8(4);
  const __m256 d = _mm256_set1_ps(1e-9f);
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  const auto step = [&](__m256 acc, __m256i w, __m256i x) {
    const __m256i s = dot_u8s8_add(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc);
  };
  for (std::uint64_t i = 0; i < iterations; ++i) {
    opaque(w0);
    opaque(w1);
    opaque(w2);
    opaque(x0);
    opaque(x1);
    a0 = step(a0, w0, x0);
    a1 = step(a1, w1, x0);
    a2 = step(a2, w2, x0);
    a3 = step(a3, w0, x1);
    a4 = step(a4, w1, x1);
    a5 = step(a5, w2, x1);
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                 _mm256_add_ps(a4, a5));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  *sink = lanes[0] + lanes[7];
  return iterations * 6 * 32 * 2;
}

}  // namespace

std::uint64_t int8_q8_block_chains_avx2(std::uint64_t iterations, float* sink) {
  return int8_q8_block_impl(iterations, sink);
}

std::uint64_t read_sum_avx2(const std::uint64_t* words, std::size_t n) { return read_sum_impl(words, n); }
std::uint64_t fma_chains_avx2(std::uint64_t iterations, float* sink) { return fma_impl(iterations, sink); }
std::uint64_t int8_chains_avx2(std::uint64_t iterations, std::int32_t* sink) {
  return int8_impl(iterations, sink);
}

#if defined(WHALE_VNNI)
std::uint64_t int8_chains_512(std::uint64_t iterations, std::int32_t* sink) {
  return int8_512_impl(iterations, sink);
}
std::uint64_t int8_q8_block_chains_512(std::uint64_t iterations, float* sink) {
  return int8_q8_block_512_impl(iterations, sink);
}
#endif

}  // namespace whale::WHALE_ROOFLINE_NS
