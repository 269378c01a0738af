// row_encode.h — produces one output tensor's bytes from f32 rows, split over the thread pool:
// the shared back end of `whale quantize` and `whale convert`.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "format/tensor_directory.h"
#include "quant/dtype.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace whale {

// Writes output row `row` (cols floats) to `dst`. Called concurrently for different rows.
using ReadRowFn = std::function<void(std::int64_t row, float* dst)>;

// Encodes rows [0, n_rows) of width `cols` as `dtype` into `out`, which must be exactly
// n_rows * row_bytes(dtype, cols) bytes. Each row is a whole number of blocks, so rows are
// independent and any split over the pool gives the same bytes.
void encode_rows(std::int64_t n_rows, std::int64_t cols, DType dtype, const ReadRowFn& read_row,
                 ThreadPool& pool, std::span<std::byte> out);

// Decodes row `row` of a stored tensor (any type with a dequantizer: F32/F16/BF16, the block
// types, F8_E4M3) to f32. `fp8_scales`, for an F8_E4M3 weight, is its weight_scale_inv record
// ([ceil(rows/128), ceil(cols/128)] F32): each 128x128 block is multiplied by its scale.
void decode_row(const TensorRecord& t, const TensorRecord* fp8_scales, std::int64_t row,
                float* dst);

// Tells the kernel that a read-only mapped input is done with: its pages leave this process's
// resident set (they are re-read from the file if touched again), so converting a model larger
// than RAM keeps only the tensor at hand resident. Partial pages at the ends are kept.
void release_pages(std::span<const std::byte> mapped);

// Checks that `scales` is the F32 [ceil(rows/128), ceil(cols/128)] grid for weight `t`.
Result<void> check_fp8_scales(const TensorRecord& t, const TensorRecord& scales);

}  // namespace whale
