// tensor_directory.h — the neutral product of every file parser: named, typed, shaped bytes.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/dtype.h"
#include "util/status.h"

namespace whale {

struct TensorRecord {
  std::string name;                   // spelled as in the file
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;    // outermost first: a matrix is {rows, cols}
  std::span<const std::byte> bytes;   // points into a mapping owned elsewhere
  std::uint32_t file_index = 0;       // which file of a split/sharded set holds it

  std::int64_t numel() const;
  // Innermost dimension (the row length in elements); 1 for a scalar.
  std::int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  // Product of all but the innermost dimension.
  std::int64_t rows() const { return cols() == 0 ? 0 : numel() / cols(); }
};

class TensorDirectory {
 public:
  // Fails on a duplicate name.
  Result<void> add(TensorRecord record);
  const TensorRecord* find(std::string_view name) const;  // nullptr if absent
  std::span<const TensorRecord> all() const { return records_; }
  std::size_t size() const { return records_.size(); }

 private:
  std::vector<TensorRecord> records_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// Checks that `shape` is a valid tensor shape for `dtype` and returns its byte size: every
// dimension positive, the element count without overflow, and the innermost dimension a whole
// number of blocks.
Result<std::uint64_t> tensor_bytes(DType dtype, std::span<const std::int64_t> shape);

// The decoder layer a tensor belongs to, from its name: N of "blk.N." (GGUF) or
// "model.layers.N." (Hugging Face); -1 for the embedding, the head, global norms and any name
// whose number does not parse or fit.
std::int64_t layer_of_tensor(std::string_view name);

}  // namespace whale
