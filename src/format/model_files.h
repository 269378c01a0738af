// model_files.h — opens what a user points whale at: a GGUF file (split or not) or a Hugging
// Face folder of safetensors plus config.json, as one set of tensors and metadata.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "format/mapped_file.h"
#include "format/metadata.h"
#include "format/tensor_directory.h"
#include "util/status.h"

namespace whale {

enum class ModelFormat { kGguf, kSafetensors };

struct ModelFiles {
  ModelFormat format = ModelFormat::kGguf;
  std::filesystem::path path;            // what the user named
  std::vector<MappedFile> files;         // every mapped file (GGUF splits or shards)
  TensorDirectory tensors;
  Metadata gguf_metadata;                // GGUF only: the first split's key/values
  std::uint32_t gguf_version = 0;
  std::string hf_config_json;            // safetensors only: config.json text
  std::optional<std::string> hf_generation_config_json;  // when present
  std::uint64_t total_bytes() const;
};

// `path`: a .gguf file (a "-00001-of-0000N.gguf" part opens all parts), or a folder with
// config.json and safetensors weights. Errors name the file and the problem.
Result<ModelFiles> open_model_files(const std::filesystem::path& path);

}  // namespace whale
