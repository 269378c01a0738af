// matmul.cpp — portable reference matmul over any dequantizable weight type.
#include "kernels/matmul.h"

#include <cstdlib>
#include <string_view>
#include <vector>

#include "kernels/ops.h"
#include "kernels/q8_matmul.h"
#include "kernels/row_dot.h"
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

MatmulNumerics default_matmul_numerics() {
  static const MatmulNumerics n = [] {
    const char* env = std::getenv("WHALE_MATMUL");
    return env != nullptr && std::string_view(env) == "exact" ? MatmulNumerics::kExact
                                                              : MatmulNumerics::kQ8Activations;
  }();
  return n;
}

void matmul(const WeightView& w, Span2D<const float> x, Span2D<float> y, ThreadPool& pool) {
  matmul(w, x, y, pool, default_matmul_numerics());
}

void matmul(const WeightView& w, Span2D<const float> x, Span2D<float> y, ThreadPool& pool,
            MatmulNumerics numerics) {
  WHALE_CHECK(x.cols() == w.cols && y.cols() == w.rows && y.rows() == x.rows());
  if (numerics == MatmulNumerics::kQ8Activations && w.block_scales == nullptr &&
      q8_type_info(w.dtype) != nullptr) {
    q8_matmul(w, x, y, pool, q8_matmul_kernels());
    return;
  }
  // Few activation rows (decode): widen each stored row in registers per dot product. Many
  // rows (prefill): dequantize each weight row once, then dot it with every activation row.
  constexpr std::int64_t kWidenOnceRows = 4;
  const RowDotFn stored_dot = w.block_scales == nullptr ? row_dot_kernel(w.dtype) : nullptr;
  const RowDotFn f32_dot = row_dot_kernel(DType::kF32);
  const Dot2x3Fn dot2x3 = dot2x3_f32_kernel();
  const bool per_dot = stored_dot != nullptr && x.rows() <= kWidenOnceRows;
  pool.parallel_for(w.rows, [&](RowRange rows, int) {
    thread_local AlignedBuffer<float> row_buf;  // two rows
    if (!per_dot && static_cast<std::int64_t>(row_buf.size()) < 2 * w.cols)
      row_buf = AlignedBuffer<float>(static_cast<std::size_t>(2 * w.cols));
    if (per_dot) {
      for (std::int64_t r = rows.begin; r < rows.end; ++r) {
        const std::byte* stored = w.data + static_cast<std::size_t>(r) * w.row_bytes;
        for (std::int64_t t = 0; t < x.rows(); ++t) y.row(t)[r] = stored_dot(stored, x.row(t), w.cols);
      }
      return;
    }
    // Rows in pairs (a last odd row goes alone: dot2x3 gets it twice), each dequantized once.
    for (std::int64_t r = rows.begin; r < rows.end; r += 2) {
      const int n_rows = r + 1 < rows.end ? 2 : 1;
      const float* wr[2] = {row_buf.data(), row_buf.data() + (n_rows - 1) * w.cols};
      for (int j = 0; j < n_rows; ++j) dequantize_weight_row(w, r + j, row_buf.data() + j * w.cols);
      std::int64_t t = 0;
      if (dot2x3 != nullptr)
        for (; t + 3 <= x.rows(); t += 3) {
          const float* xs[3] = {x.row(t), x.row(t + 1), x.row(t + 2)};
          float out[6];
          dot2x3(wr, xs, w.cols, out);
          for (int j = 0; j < n_rows; ++j)
            for (int k = 0; k < 3; ++k) y.row(t + k)[r + j] = out[3 * j + k];
        }
      for (; t < x.rows(); ++t)
        for (int j = 0; j < n_rows; ++j)
          y.row(t)[r + j] = f32_dot != nullptr ? f32_dot(reinterpret_cast<const std::byte*>(wr[j]), x.row(t), w.cols)
                                               : dot_f32(x.row(t), wr[j], w.cols);
    }
  });
}

void matmul_batch(std::span<const MatmulJob> jobs, ThreadPool& pool) {
  bool integer = default_matmul_numerics() == MatmulNumerics::kQ8Activations;
  for (const MatmulJob& job : jobs) {
    WHALE_CHECK(job.x.cols() == job.w->cols && job.y.cols() == job.w->rows && job.y.rows() == job.x.rows());
    integer = integer && job.w->block_scales == nullptr && q8_type_info(job.w->dtype) != nullptr;
  }
  if (integer) {
    q8_matmul_batch(jobs, pool, q8_matmul_kernels());
    return;
  }
  for (const MatmulJob& job : jobs) matmul(*job.w, job.x, job.y, pool);
}

}  // namespace whale
