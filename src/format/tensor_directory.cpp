// tensor_directory.cpp — tensor records and the shared shape/size validation.
#include "format/tensor_directory.h"

#include <fmt/ranges.h>

#include <charconv>

namespace whale {

std::int64_t TensorRecord::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

Result<void> TensorDirectory::add(TensorRecord record) {
  if (index_.count(record.name) != 0) return Error("duplicate tensor name '{}'", record.name);
  index_.emplace(record.name, records_.size());
  records_.push_back(std::move(record));
  return {};
}

const TensorRecord* TensorDirectory::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &records_[it->second];
}

Result<std::uint64_t> tensor_bytes(DType dtype, std::span<const std::int64_t> shape) {
  // 2^56 elements is far beyond any model and keeps every later product inside 64 bits.
  constexpr std::uint64_t kMaxElems = std::uint64_t{1} << 56;
  std::uint64_t n = 1;
  for (auto d : shape) {
    if (d <= 0) return Error("dimension {} in shape [{}] is not positive", d, fmt::join(shape, ", "));
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n) || n > kMaxElems)
      return Error("shape [{}] has too many elements", fmt::join(shape, ", "));
  }
  const DTypeTraits& tr = dtype_traits(dtype);
  const std::int64_t inner = shape.empty() ? 1 : shape.back();
  if (inner % tr.block_elems != 0)
    return Error("row length {} is not a multiple of the {} block size {}", inner, tr.name,
                 tr.block_elems);
  return n / static_cast<std::uint64_t>(tr.block_elems) * tr.block_bytes;
}

std::int64_t layer_of_tensor(std::string_view name) {
  for (std::string_view prefix : {std::string_view("blk."), std::string_view("model.layers.")}) {
    if (!name.starts_with(prefix)) continue;
    const char* begin = name.data() + prefix.size();
    const char* end = name.data() + name.size();
    std::int64_t layer = -1;
    auto [p, ec] = std::from_chars(begin, end, layer);
    if (ec != std::errc() || p == begin || p == end || *p != '.' || layer < 0) return -1;
    return layer;
  }
  return -1;
}

}  // namespace whale
