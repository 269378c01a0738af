// matmul.cpp — portable reference matmul over any dequantizable weight type.
#include "kernels/matmul.h"

#include <vector>

#include "kernels/ops.h"
#include "quant/dequantize.h"
#include "util/aligned_buffer.h"

namespace whale {

bool matmul_supports(DType t) { return has_dequantize(t); }

void dequantize_weight_row(const WeightView& w, std::int64_t r, float* out) {
  const std::byte* row = w.data + static_cast<std::size_t>(r) * w.row_bytes;
  dequantize_row(w.dtype, row, out, w.cols);
  if (w.block_scales != nullptr) {
    const float* scales = w.block_scales + ((w.scale_row0 + r) / kFp8BlockSize) * w.scale_cols;
    for (std::int64_t c = 0; c < w.cols; ++c) out[c] *= scales[c / kFp8BlockSize];
  }
}

void matmul(const WeightView& w, Span2D<const float> x, Span2D<float> y, ThreadPool& pool) {
  WHALE_CHECK(x.cols() == w.cols && y.cols() == w.rows && y.rows() == x.rows());
  // F32 rows are read in place when aligned; safetensors data need not be 4-byte aligned.
  const bool direct = w.dtype == DType::kF32 && w.block_scales == nullptr &&
                      reinterpret_cast<std::uintptr_t>(w.data) % alignof(float) == 0 &&
                      w.row_bytes % alignof(float) == 0;
  pool.parallel_for(w.rows, [&](RowRange rows, int) {
    thread_local AlignedBuffer<float> row_buf;
    if (!direct && static_cast<std::int64_t>(row_buf.size()) < w.cols)
      row_buf = AlignedBuffer<float>(static_cast<std::size_t>(w.cols));
    for (std::int64_t r = rows.begin; r < rows.end; ++r) {
      const float* wr;
      if (direct) {
        wr = reinterpret_cast<const float*>(w.data + static_cast<std::size_t>(r) * w.row_bytes);
      } else {
        dequantize_weight_row(w, r, row_buf.data());
        wr = row_buf.data();
      }
      for (std::int64_t t = 0; t < x.rows(); ++t) y.row(t)[r] = dot_f32(x.row(t), wr, w.cols);
    }
  });
}

}  // namespace whale
