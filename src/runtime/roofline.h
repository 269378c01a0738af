// roofline.h — the machine's limits measured on the spot (read bandwidth, FP32 FMA peak, int8
// multiply-add peak), the denominators of the roofline fractions `whale bench` reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/thread_pool.h"

namespace whale {

// The instruction set a measuring loop uses, chosen once at run time from the CPU.
enum class SimdLevel { kScalar, kAvx2 };

std::string_view simd_level_name(SimdLevel level);
// kAvx2 when the CPU has AVX2 and FMA, else kScalar.
SimdLevel detect_simd_level();

// Best of `passes` multi-threaded streaming reads over a fresh buffer of `bytes` (make it far
// larger than the caches: 1 GiB by default), in GB/s (1e9 bytes per second). Each thread
// reads its own contiguous share, as a matmul over weight rows does.
double measure_read_bandwidth(ThreadPool& pool, std::size_t bytes = std::size_t{1} << 30,
                              int passes = 3);

// FP32 fused multiply-add throughput over all pool threads, in GFLOP/s (an FMA counts 2).
double measure_fp32_fma_peak(ThreadPool& pool);

// int8 multiply-add throughput over all pool threads, in GOP/s: the chain a quantized dot
// product runs (u8 x s8 -> s16 pairs, then s16 pairs -> s32, then s32 accumulate; on AVX2
// vpmaddubsw, vpmaddwd, vpaddd). One int8 product accumulated counts 2 operations.
// This is the inner loop of the K-quant kernels (Q4_K: vpmaddubsw, vpmaddwd with the
// sub-block scale, vpaddd per 32 products and token). With `vnni` (only on a CPU with
// AVX512-VNNI + AVX512VL: cpu_has_avx512_vnni_vl) the chain the VNNI kernel set's prefill runs
// instead: vpmaddubsw, vpdpwssd on 512-bit registers.
double measure_int8_madd_peak(ThreadPool& pool, bool vnni = false);

// The same, for the sequence the Q8_0 and other 32-element-block kernels issue per 32
// products: vpsignb, vpmaddubsw, vpmaddwd, vcvtdq2ps, vfmadd with the block scale (their
// blocks are too short to accumulate in int32 first). Falls back to measure_int8_madd_peak's
// scalar loop without AVX2. With `vnni`: the VNNI set's prefill sequence, vpxord (x biased to
// unsigned), vpdpbusd, vcvtdq2ps, vfmadd on 512-bit registers.
double measure_int8_q8_block_peak(ThreadPool& pool, bool vnni = false);

// The read loop of measure_read_bandwidth for one level: the wrapping sum of `n` words. Every
// level returns the same sum for the same words (tests check that the loop reads it all).
std::uint64_t read_sum(SimdLevel level, const std::uint64_t* words, std::size_t n);

}  // namespace whale
