// row_encode.cpp — row-parallel encoding and the row decoder for stored tensors.
#include "convert/row_encode.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/dequantize.h"
#include "util/check.h"
#include "weights/weight_view.h"

namespace whale {

void encode_rows(std::int64_t n_rows, std::int64_t cols, DType dtype, const ReadRowFn& read_row,
                 ThreadPool& pool, std::span<std::byte> out) {
  const std::size_t rb = *row_bytes(dtype, cols);
  WHALE_CHECK(out.size() == rb * static_cast<std::size_t>(n_rows));
  // Small grains keep every thread busy on the few-row tensors (k_b's heads, norms).
  pool.parallel_for(n_rows, [&](RowRange r, int) {
    std::vector<float> row(static_cast<std::size_t>(cols));
    for (std::int64_t i = r.begin; i < r.end; ++i) {
      read_row(i, row.data());
      quantize_row(dtype, row.data(), out.data() + static_cast<std::size_t>(i) * rb, cols);
    }
  });
}

void decode_row(const TensorRecord& t, const TensorRecord* fp8_scales, std::int64_t row,
                float* dst) {
  const std::int64_t cols = t.cols();
  const std::size_t rb = *row_bytes(t.dtype, cols);
  dequantize_row(t.dtype, t.bytes.data() + static_cast<std::size_t>(row) * rb, dst, cols);
  if (fp8_scales == nullptr) return;
  // The scale grid's row is the weight row's 128-row block; within a tensor of experts (3-D),
  // rows are counted per matrix.
  const std::int64_t mat_rows = t.shape.size() >= 2 ? t.shape[t.shape.size() - 2] : 1;
  const std::int64_t scale_cols = (cols + kFp8BlockSize - 1) / kFp8BlockSize;
  const std::int64_t scale_row = (row % mat_rows) / kFp8BlockSize;
  // memcpy: safetensors data has no alignment guarantee.
  std::vector<float> scales(static_cast<std::size_t>(scale_cols));
  std::memcpy(scales.data(), fp8_scales->bytes.data() + scale_row * scale_cols * 4,
              scales.size() * 4);
  for (std::int64_t c = 0; c < cols; ++c)
    dst[c] *= scales[static_cast<std::size_t>(c / kFp8BlockSize)];
}

void release_pages(std::span<const std::byte> mapped) {
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(mapped.data());
  const std::uintptr_t first = (begin + page - 1) / page * page;
  const std::uintptr_t last = (begin + mapped.size()) / page * page;
  // Advice only: a failure (e.g. memory that is not a mapping) changes nothing observable.
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

Result<void> check_fp8_scales(const TensorRecord& t, const TensorRecord& scales) {
  if (t.shape.size() != 2) return Error("F8_E4M3 tensor '{}' is not 2-D", t.name);
  const std::int64_t want_r = (t.shape[0] + kFp8BlockSize - 1) / kFp8BlockSize;
  const std::int64_t want_c = (t.shape[1] + kFp8BlockSize - 1) / kFp8BlockSize;
  if (scales.dtype != DType::kF32 || scales.shape.size() != 2 || scales.shape[0] != want_r ||
      scales.shape[1] != want_c)
    return Error("'{}' should be F32 [{}, {}] for weight '{}' [{}, {}] (128x128 blocks)",
                 scales.name, want_r, want_c, t.name, t.shape[0], t.shape[1]);
  return {};
}

}  // namespace whale
