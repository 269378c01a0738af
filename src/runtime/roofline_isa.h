// roofline_isa.h — per-instruction-set measuring loops behind roofline.cpp's run-time dispatch;
// each set lives in its own translation unit compiled with that set's flags.
#pragma once

#include <cstddef>
#include <cstdint>

namespace whale::roofline_isa {

// Wrapping sum of `n` 64-bit words.
std::uint64_t read_sum_scalar(const std::uint64_t* words, std::size_t n);
std::uint64_t read_sum_avx2(const std::uint64_t* words, std::size_t n);

// Runs `iterations` rounds of independent FP32 FMA chains; returns the FLOPs done and stores a
// value derived from the chains in `sink` so the work cannot be dropped.
std::uint64_t fma_chains_scalar(std::uint64_t iterations, float* sink);
std::uint64_t fma_chains_avx2(std::uint64_t iterations, float* sink);

// Runs `iterations` rounds of int8 multiply-add chains; returns the operations done.
std::uint64_t int8_chains_scalar(std::uint64_t iterations, std::int32_t* sink);
std::uint64_t int8_chains_avx2(std::uint64_t iterations, std::int32_t* sink);
// The Q8_0 kernel's per-block sequence (sign, maddubs, madd, cvt, fma); AVX2 only.
std::uint64_t int8_q8_block_chains_avx2(std::uint64_t iterations, float* sink);

}  // namespace whale::roofline_isa

// The int8 chains of the AVX512-VNNI kernel set's prefill, on 512-bit registers
// (roofline_vnni.cpp).
namespace whale::roofline_isa_vnni {
// maddubs + vpdpwssd (the 256-element K-quant and codebook types).
std::uint64_t int8_chains_512(std::uint64_t iterations, std::int32_t* sink);
// xor + vpdpbusd + cvt + fma (Q8_0 and the other 32-element types).
std::uint64_t int8_q8_block_chains_512(std::uint64_t iterations, float* sink);
}  // namespace whale::roofline_isa_vnni
