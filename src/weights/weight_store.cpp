// weight_store.cpp — checked weight views over mapped files.
#include "weights/weight_store.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "kernels/matmul.h"
#include "quant/dequantize.h"
#include "util/progress.h"
#include "util/system_memory.h"

namespace whale {

Result<WeightView> WeightStore::matrix(const std::string& name, std::int64_t rows, std::int64_t cols) {
  const TensorRecord* t = files_.tensors.find(name);
  if (t == nullptr) return Error("tensor '{}' is missing", name);
  if (t->cols() != cols || t->numel() != rows * cols)
    return Error("tensor '{}' has shape [{}], expected {} x {}", name, fmt::join(t->shape, ", "),
                 rows, cols);
  if (!matmul_supports(t->dtype))
    return Error("tensor '{}' has type {}, which whale cannot compute with yet", name,
                 dtype_name(t->dtype));
  const auto stride = row_bytes(t->dtype, cols);
  if (!stride)
    return Error("tensor '{}': rows of {} values are not whole {} blocks", name, cols, dtype_name(t->dtype));
  WeightView v;
  v.dtype = t->dtype;
  v.rows = rows;
  v.cols = cols;
  v.row_bytes = *stride;
  v.data = t->bytes.data();
  if (t->dtype == DType::kF8_E4M3) {
    const std::string scale_name = name + "_scale_inv";
    const std::int64_t srows = (rows + kFp8BlockSize - 1) / kFp8BlockSize;
    const std::int64_t scols = (cols + kFp8BlockSize - 1) / kFp8BlockSize;
    const TensorRecord* st = files_.tensors.find(scale_name);
    if (st == nullptr || st->numel() != srows * scols || !has_dequantize(st->dtype))
      return Error("FP8 weight '{}' needs its block scales '{}' of {} x {} values", name,
                   scale_name, srows, scols);
    AlignedBuffer<float> buf(static_cast<std::size_t>(srows * scols));
    dequantize_row(st->dtype, st->bytes.data(), buf.data(), srows * scols);
    v.block_scales = buf.data();
    v.scale_cols = scols;
    owned_.push_back(std::move(buf));
  }
  return v;
}

Result<std::vector<float>> WeightStore::vector(const std::string& name, std::int64_t n) const {
  const TensorRecord* t = files_.tensors.find(name);
  if (t == nullptr) return Error("tensor '{}' is missing", name);
  if (t->numel() != n)
    return Error("tensor '{}' has shape [{}], expected {} values", name, fmt::join(t->shape, ", "), n);
  if (!has_dequantize(t->dtype))
    return Error("tensor '{}' has type {}, which whale cannot read yet", name, dtype_name(t->dtype));
  std::vector<float> out(static_cast<std::size_t>(n));
  dequantize_row(t->dtype, t->bytes.data(), out.data(), n);
  return out;
}

WeightView WeightStore::own(AlignedBuffer<float> data, std::int64_t rows, std::int64_t cols) {
  WHALE_CHECK(static_cast<std::int64_t>(data.size()) == rows * cols);
  WeightView v;
  v.dtype = DType::kF32;
  v.rows = rows;
  v.cols = cols;
  v.row_bytes = static_cast<std::size_t>(cols) * sizeof(float);
  v.data = reinterpret_cast<const std::byte*>(data.data());
  owned_.push_back(std::move(data));
  return v;
}

void WeightStore::warm_up() const {
  const std::uint64_t total = files_.total_bytes();
  const auto avail = available_memory_bytes();
  if (total == 0 || total > avail / 2) return;
  ProgressBar bar("loading", total, "B");
  constexpr std::size_t kChunk = std::size_t{64} << 20;
  constexpr std::size_t kPage = 4096;
  std::uint64_t done = 0;
  volatile unsigned char sink = 0;  // keeps the page reads from being optimised away
  for (const MappedFile& f : files_.files) {
    const auto bytes = f.bytes();
    for (std::size_t at = 0; at < bytes.size(); at += kChunk) {
      const std::size_t n = std::min(kChunk, bytes.size() - at);
      f.prefetch(at, n);
      unsigned char acc = 0;
      for (std::size_t i = 0; i < n; i += kPage) acc ^= static_cast<unsigned char>(bytes[at + i]);
      sink = sink ^ acc;
      done += n;
      bar.update(done);
    }
  }
  bar.finish();
}

std::optional<MappedResidency> WeightStore::residency() const {
  MappedResidency sum;
  for (const MappedFile& f : files_.files) {
    const auto r = f.residency();
    if (!r) return std::nullopt;
    sum.resident_bytes += r->resident_bytes;
    sum.huge_page_bytes += r->huge_page_bytes;
  }
  return sum;
}

AlignedBuffer<float> WeightStore::to_f32(const WeightView& w) {
  AlignedBuffer<float> out(static_cast<std::size_t>(w.rows * w.cols));
  for (std::int64_t r = 0; r < w.rows; ++r) dequantize_weight_row(w, r, out.data() + r * w.cols);
  return out;
}

}  // namespace whale
