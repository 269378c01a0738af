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
  std::int64_t n_tokens = 0;
  float* y = nullptr;                     // y[t * y_stride + r]
  std::int64_t y_stride = 0;
  UnpackBlockFn unpack = nullptr;         // the reference unpacker (used by the scalar kernel)
};
}  // namespace whale
