// roofline_avx2.cpp — the AVX2/FMA measuring loops (compiled with -mavx2 -mfma, called only
// after detect_simd_level() saw both). Only intrinsics here: an inline library function
// compiled with AVX2 could be chosen by the linker for scalar callers too. roofline_vnni.cpp
// compiles this file again with AVX512-VNNI into namespace roofline_isa_vnni, where only the
// int8 chains of the VNNI kernel set's prefill (512-bit registers) are built.
#include <immintrin.h>

#include "kernels/x86_avx2/avx2_util.h"
#include "runtime/roofline_isa.h"

#ifndef WHALE_ROOFLINE_NS
#define WHALE_ROOFLINE_NS roofline_isa
#endif

namespace whale::WHALE_ROOFLINE_NS {
namespace {

#if !defined(WHALE_VNNI)
using WHALE_AVX2_NS::dot_u8s8_add;
using WHALE_AVX2_NS::madd_add;

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

#endif

// Six independent chains over the operand pairs (a0, a1, a2) × (b0, b1): acc_k = step(acc_k, a_i,
// b_j), the operands made opaque each round so no product is hoisted out of the loop; returns
// the six accumulators summed with `add`. Six chains cover the longest latency in the steps.
template <class Acc, class Op, class Step, class Add>
Acc six_chains(std::uint64_t iterations, Op a0, Op a1, Op a2, Op b0, Op b1, Acc zero, Step step, Add add) {
  Acc c0 = zero, c1 = zero, c2 = zero, c3 = zero, c4 = zero, c5 = zero;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    asm volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(b0), "+v"(b1));
    c0 = step(c0, a0, b0);
    c1 = step(c1, a1, b0);
    c2 = step(c2, a2, b0);
    c3 = step(c3, a0, b1);
    c4 = step(c4, a1, b1);
    c5 = step(c5, a2, b1);
  }
  return add(add(add(c0, c1), add(c2, c3)), add(c4, c5));
}

#if !defined(WHALE_VNNI)
// Wrapping sums are fine below: they only keep the work alive.
std::int32_t first_plus_last(__m256i v) {
  alignas(32) std::int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(lanes[0]) + static_cast<std::uint32_t>(lanes[7]));
}

float first_plus_last(__m256 v) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  return lanes[0] + lanes[7];
}

std::uint64_t int8_impl(std::uint64_t iterations, std::int32_t* sink) {
  // The K-quant kernels' step: u8 x s8 pairs, then the pairs times the (here unit) scale.
  const __m256i ones = _mm256_set1_epi16(1);
  *sink = first_plus_last(six_chains(
      iterations, _mm256_set1_epi8(1), _mm256_set1_epi8(2), _mm256_set1_epi8(3), _mm256_set1_epi8(-1),
      _mm256_set1_epi8(2), _mm256_setzero_si256(),
      [&](__m256i acc, __m256i u, __m256i s) { return madd_add(acc, _mm256_maddubs_epi16(u, s), ones); },
      [](__m256i x, __m256i y) { return _mm256_add_epi32(x, y); }));
  return iterations * 6 * 32 * 2;
}

std::uint64_t int8_q8_block_impl(std::uint64_t iterations, float* sink) {
  // What the Q8_0 matmul kernel issues per 32 products (kernels/x86_avx2/q8_0_matmul.cpp):
  // vpsignb (the weight's sign moved onto x), vpmaddubsw, vpmaddwd, vcvtdq2ps, and an f32
  // multiply-add with the block scale.
  const __m256 d = _mm256_set1_ps(1e-9f);
  *sink = first_plus_last(six_chains(
      iterations, _mm256_set1_epi8(3), _mm256_set1_epi8(-5), _mm256_set1_epi8(7), _mm256_set1_epi8(-2),
      _mm256_set1_epi8(4), _mm256_setzero_ps(),
      [&](__m256 acc, __m256i w, __m256i x) {
        const __m256i s = dot_u8s8_add(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
        return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc);
      },
      [](__m256 x, __m256 y) { return _mm256_add_ps(x, y); }));
  return iterations * 6 * 32 * 2;
}

#else
// The same chains on 512-bit registers, as the VNNI set's prefill kernels issue them
// (x86_avx512_vnni/*_512.h). On Xeons with two 512-bit multiply ports they do twice the work of
// the 256-bit chains per instruction. Wrapping sums only keep the work alive.
std::int32_t first_plus_last(__m512i v) {
  alignas(64) std::int32_t lanes[16];
  _mm512_store_si512(lanes, v);
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(lanes[0]) + static_cast<std::uint32_t>(lanes[15]));
}

float first_plus_last(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  return lanes[0] + lanes[15];
}

// Q4_K, Q5_K, Q6_K: vpmaddubsw, vpdpwssd.
std::uint64_t int8_512_impl(std::uint64_t iterations, std::int32_t* sink) {
  const __m512i ones = _mm512_set1_epi16(1);
  *sink = first_plus_last(six_chains(
      iterations, _mm512_set1_epi8(1), _mm512_set1_epi8(2), _mm512_set1_epi8(3), _mm512_set1_epi8(-1),
      _mm512_set1_epi8(2), _mm512_setzero_si512(),
      [&](__m512i acc, __m512i u, __m512i s) { return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(u, s), ones); },
      [](__m512i x, __m512i y) { return _mm512_add_epi32(x, y); }));
  return iterations * 6 * 64 * 2;
}

// Q8_0 prefill, per 64 products (two rows of 32): vpxord (x biased to unsigned), vpdpbusd,
// vcvtdq2ps and the f32 multiply-add with the block scale.
std::uint64_t int8_q8_block_512_impl(std::uint64_t iterations, float* sink) {
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80)), start = _mm512_set1_epi32(-128);
  const __m512 d = _mm512_set1_ps(1e-9f);
  *sink = first_plus_last(six_chains(
      iterations, _mm512_set1_epi8(3), _mm512_set1_epi8(-5), _mm512_set1_epi8(7), _mm512_set1_epi8(-2),
      _mm512_set1_epi8(4), _mm512_setzero_ps(),
      [&](__m512 acc, __m512i w, __m512i x) {
        const __m512i s = _mm512_dpbusd_epi32(start, _mm512_xor_si512(x, bias), w);
        return _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), acc);
      },
      [](__m512 x, __m512 y) { return _mm512_add_ps(x, y); }));
  return iterations * 6 * 64 * 2;
}
#endif

}  // namespace

#if !defined(WHALE_VNNI)
std::uint64_t int8_q8_block_chains_avx2(std::uint64_t iterations, float* sink) {
  return int8_q8_block_impl(iterations, sink);
}

std::uint64_t read_sum_avx2(const std::uint64_t* words, std::size_t n) { return read_sum_impl(words, n); }
std::uint64_t fma_chains_avx2(std::uint64_t iterations, float* sink) { return fma_impl(iterations, sink); }
std::uint64_t int8_chains_avx2(std::uint64_t iterations, std::int32_t* sink) {
  return int8_impl(iterations, sink);
}

#else
std::uint64_t int8_chains_512(std::uint64_t iterations, std::int32_t* sink) {
  return int8_512_impl(iterations, sink);
}
std::uint64_t int8_q8_block_chains_512(std::uint64_t iterations, float* sink) {
  return int8_q8_block_512_impl(iterations, sink);
}
#endif

}  // namespace whale::WHALE_ROOFLINE_NS
