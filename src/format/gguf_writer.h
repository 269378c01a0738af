// gguf_writer.h — writes GGUF v3 files that llama.cpp loads; used by convert, quantize and the
// test-model generator.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "format/metadata.h"
#include "quant/dtype.h"
#include "util/status.h"

namespace whale {

class GgufWriter {
 public:
  // Fills exactly the tensor's byte size. Called once, in tensor order, while writing, so a
  // converter can produce one tensor at a time without holding the model in memory.
  using FillFn = std::function<Result<void>(std::span<std::byte> out)>;

  // The alignment is taken from `general.alignment` when the metadata has it, else 32.
  explicit GgufWriter(Metadata metadata);

  // `shape` is outermost first ({rows, cols}); the file stores it innermost first.
  Result<void> add_tensor(std::string name, DType dtype, std::vector<std::int64_t> shape,
                          FillFn fill);
  // Copies `data`, which must be exactly the tensor's size.
  Result<void> add_tensor(std::string name, DType dtype, std::vector<std::int64_t> shape,
                          std::span<const std::byte> data);

  // Writes to `path` through a temporary file renamed into place, so a failed write never
  // leaves a half-written model under the final name. Shows a progress bar on a terminal.
  Result<void> write(const std::filesystem::path& path, const std::string& progress_label = "");
  Result<std::vector<std::byte>> to_bytes();

  std::size_t tensor_count() const { return tensors_.size(); }

 private:
  struct Pending {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::uint64_t size;
    std::uint64_t offset;
    FillFn fill;
  };
  Result<void> emit(const std::function<Result<void>(std::span<const std::byte>)>& sink,
                    const std::function<void(std::uint64_t)>& on_progress);

  Metadata metadata_;
  std::uint64_t alignment_;
  std::vector<Pending> tensors_;
  std::uint64_t data_bytes_ = 0;
};

}  // namespace whale
