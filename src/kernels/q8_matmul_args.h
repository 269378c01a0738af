// q8_matmul_args.h — the plain-data interface between the integer matmul driver and its
// per-ISA kernels (no inline code, so ISA-specific translation units can include it safely).
#pragma once

#include <cstddef>
#include <cstdint>

namespace whale {

// A weight block as integers: w(i) = d · sc(i / 16) · q(i) + dmin · m(i / 16). Plain data so
// ISA-specific translation units can use it without sharing inline code.
struct IntBlock {
  std::int8_t q[256];    // signed integer levels (32 or 256 used)
  std::int16_t sc[16];   // integer scale of each 16 elements (1 when the type has none)
  std::int16_t m[16];    // integer min of each 16 elements (types with mins)
  float d;               // block scale
  float dmin;            // coefficient of Σ m · xsum16, sign included (0 when no mins)
  bool has_min;
};
// Unpacks one stored block (32 or 256 elements) into integers; the reference of each layout.
using UnpackBlockFn = void (*)(const std::byte* block, IntBlock& out);

// How far ahead of the block being multiplied the x86 kernels prefetch weight bytes (into L2),
// and how much of the head of each decode piece the driver prefetches (q8_matmul.cpp). At
// decode every weight byte comes once from memory, and one core's hardware prefetcher alone
// keeps too few lines in flight while the kernel computes between loads: on a
// 2-core Xeon VM one thread streamed Q4_K rows at 4.9 GB/s without software prefetch and at
// 12-13 GB/s (the plain read loop's rate) with it. 1.5B-shape decode, 2 threads, one run:
// Q4_K_M 15.3 / 17.2 / 18.1 / 17.2 tok/s at 1 / 2 / 4 / 6 KiB into L2, 15.4 at 2 KiB into L1;
// Q8_0 8.6 / 9.7 / 10.0 / 10.0 (8.6 into L1). A distance in bytes covers the same memory latency
// for every type. Re-measured with the faster kernels and huge-page mappings (whale bench -p 4
// -n 64 -t 2, alternated, two runs each, tok/s at 4 → 8 KiB): 1.5B Q4_K_M 24.2 / 24.0 → 26.0 /
// 24.9 (the 512-bit row-pair kernels alone; 12 and 16 KiB no better), then with every kernel at
// 8 KiB Q8_0 16.5 / 16.2 → 16.7 / 16.6, V2-Lite Q4_K 15.7 / 16.6 → 16.0 / 17.1; prefill unchanged.
// Dropping the second row's prefetch in the row-pair kernels cost 12-17 %.
inline constexpr int kPrefetchBytes = 8192;

// The work of one kernel call: weight rows [row_begin, row_end) times all n_tokens activation
// rows. Plain data (see IntBlock).
struct Q8MatmulArgs {
  const std::byte* w = nullptr;  // row 0 of the weight matrix
  std::size_t w_row_bytes = 0;
  std::size_t block_bytes = 0;   // bytes of one weight block
  std::int64_t block_elems = 0;  // 32 or 256 (equal to the activation block)
  std::int64_t cols = 0;
  std::int64_t row_begin = 0, row_end = 0;
  const std::int8_t* x_qs = nullptr;      // [n_tokens, cols]
  const float* x_d = nullptr;             // [n_tokens, cols / block_elems]
  const std::int16_t* x_sums16 = nullptr; // [n_tokens, cols / 16]
  const std::int16_t* x_sums32 = nullptr; // [n_tokens, cols / 32]
  std::uint64_t x_generation = 0;         // Q8Acts::generation
  std::int64_t n_tokens = 0;
  float* y = nullptr;                     // y[t * y_stride + r]
  std::int64_t y_stride = 0;
  UnpackBlockFn unpack = nullptr;         // the reference unpacker (used by the scalar kernel)
};
}  // namespace whale
