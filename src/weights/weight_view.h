// weight_view.h — a non-owning view of one weight matrix as the kernels consume it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/dtype.h"

namespace whale {

struct WeightView {
  DType dtype = DType::kF32;
  std::int64_t rows = 0;            // output features
  std::int64_t cols = 0;            // input features, in elements
  std::size_t row_bytes = 0;        // stride between rows
  const std::byte* data = nullptr;  // not owned; lives as long as the WeightStore
  // FP8 (F8_E4M3) only: per 128x128 block inverse scales, [ceil(rows/128), ceil(cols/128)]
  // row-major, multiplied into the decoded values; the block grid starts at row `scale_row0`
  // of the full tensor this view may be a slice of.
  const float* block_scales = nullptr;
  std::int64_t scale_cols = 0;
  std::int64_t scale_row0 = 0;

  bool empty() const { return data == nullptr; }
  // Rows [r0, r0 + n) as their own view (an expert of a merged tensor, a head's slice).
  WeightView rows_slice(std::int64_t r0, std::int64_t n) const {
    WeightView v = *this;
    v.rows = n;
    v.data = data + static_cast<std::size_t>(r0) * row_bytes;
    v.scale_row0 = scale_row0 + r0;
    return v;
  }
};

inline constexpr std::int64_t kFp8BlockSize = 128;

}  // namespace whale
