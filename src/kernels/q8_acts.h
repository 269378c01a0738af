// q8_acts.h — activation rows quantized to 8 bits once per matmul input, in the layout the
// integer kernels read (quants, scales and 16-element sums in separate aligned arrays).
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/dtype.h"
#include "util/aligned_buffer.h"
#include "util/span2d.h"
#include "util/thread_pool.h"

namespace whale {

// The values are exactly those of the reference quantizer (quant_ref::quantize_q8_0 / _q8_k):
// the same int8 quants and the same scale (Q8_0's f16 scale widened to f32, exactly), so a
// kernel over this layout computes the same integers as one over the GGUF block bytes.
// Quants lie in [-127, 127] (both quantizers map the largest magnitude to ±127), which the
// AVX2 kernels rely on when they move a weight's sign onto x.
struct Q8Acts {
  DType type = DType::kQ8_0;      // kQ8_0 (blocks of 32) or kQ8_K (blocks of 256)
  std::int64_t rows = 0;          // tokens
  std::int64_t cols = 0;          // a multiple of the block size
  std::int64_t block_elems = 32;
  const std::int8_t* qs = nullptr;     // [rows, cols], row stride `cols`, 64-byte aligned rows
                                       // when cols is a multiple of 64
  const float* d = nullptr;            // [rows, cols / block_elems]
  const std::int16_t* sums16 = nullptr;  // [rows, cols / 16]: Σ of 16 consecutive quants
  // [rows, cols / 32]: Σ of 32 consecutive quants (|Σ| ≤ 4064), the sub-block sums the mins of
  // Q4_K / Q5_K multiply; kept beside sums16 so the kernels do not pair them per weight row.
  const std::int16_t* sums32 = nullptr;
  // Unique to one quantization (Q8ActsBuffer::quantize), or 0 when unknown (a caller's own
  // arrays): what a kernel derives from these activations may be kept while it stays the same.
  std::uint64_t generation = 0;

  std::int64_t n_blocks() const { return cols / block_elems; }
  const std::int8_t* row_qs(std::int64_t t) const { return qs + t * cols; }
  const float* row_d(std::int64_t t) const { return d + t * n_blocks(); }
  const std::int16_t* row_sums16(std::int64_t t) const { return sums16 + t * (cols / 16); }
  const std::int16_t* row_sums32(std::int64_t t) const { return sums32 + t * (cols / 32); }
};

// Owns the arrays behind a Q8Acts; grows only when a larger input arrives, so steady-state
// calls do not allocate. Not thread-safe: one per calling thread.
class Q8ActsBuffer {
 public:
  // Quantizes x ([T, cols], cols a multiple of the block size of `type`) with `pool` splitting
  // the rows; returns a view valid until the next call.
  Q8Acts quantize(DType type, Span2D<const float> x, ThreadPool& pool);

 private:
  AlignedBuffer<std::int8_t> qs_;
  AlignedBuffer<float> d_;
  AlignedBuffer<std::int16_t> sums16_;
  AlignedBuffer<std::int16_t> sums32_;
};

// One activation row (cols values) into the Q8Acts arrays of that row. The reference: quantize
// whole blocks with quantize_row and unpack them.
void quantize_act_row_ref(DType type, const float* x, std::int64_t cols, std::int8_t* qs,
                          float* d, std::int16_t* sums16);

// The same values, faster (AVX2 when the CPU has it, NEON on AArch64, else the reference).
using QuantizeActRowFn = void (*)(DType type, const float* x, std::int64_t cols, std::int8_t* qs,
                                  float* d, std::int16_t* sums16);
QuantizeActRowFn quantize_act_row_kernel();

}  // namespace whale
