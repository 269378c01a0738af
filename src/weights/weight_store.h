// weight_store.h — owns a model's mapped files and any repacked buffers; hands out checked
// views by tensor name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/model_files.h"
#include "util/aligned_buffer.h"
#include "util/status.h"
#include "weights/weight_view.h"

namespace whale {

// Thread-safe for reads after loading; views stay valid while this store lives.
class WeightStore {
 public:
  explicit WeightStore(ModelFiles files) : files_(std::move(files)) {}
  WeightStore(WeightStore&&) = default;
  WeightStore& operator=(WeightStore&&) = default;

  const ModelFiles& files() const { return files_; }
  bool has(const std::string& name) const { return files_.tensors.find(name) != nullptr; }

  // A matrix of `rows` x `cols` (a 3-D tensor [a, b, cols] is seen as a*b rows). Fails naming
  // the tensor when it is missing, has another shape, or a type the kernels cannot use. FP8
  // weights come with their "_scale_inv" block scales.
  Result<WeightView> matrix(const std::string& name, std::int64_t rows, std::int64_t cols);
  // A vector of `n` values (norm weights, biases), converted to f32.
  Result<std::vector<float>> vector(const std::string& name, std::int64_t n) const;
  // Takes ownership of a repacked f32 matrix and returns its view.
  WeightView own(AlignedBuffer<float> data, std::int64_t rows, std::int64_t cols);
  // Reads every page of the mapped files once (with a progress bar on a terminal) so the
  // first token does not stall on page faults; skipped when the files would not fit in half
  // of the memory available now (a model larger than RAM streams its experts instead).
  void warm_up() const;
  // The mapped files' residency now (MappedFile::residency, summed); nullopt where it cannot
  // be read.
  std::optional<MappedResidency> residency() const;
  // Every element of a matrix view, as f32 (row-major), for load-time repacking.
  static AlignedBuffer<float> to_f32(const WeightView& w);

 private:
  ModelFiles files_;
  std::vector<AlignedBuffer<float>> owned_;  // repacked weights and FP8 scales
};

}  // namespace whale
