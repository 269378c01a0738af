// safetensors.h — safetensors files and sharded folders (model.safetensors.index.json).
#pragma once

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "format/mapped_file.h"
#include "format/tensor_directory.h"
#include "util/status.h"

namespace whale {

struct SafetensorsContents {
  std::vector<TensorRecord> tensors;          // in header order
  std::map<std::string, std::string> metadata;  // the "__metadata__" strings
};

// Parses one in-memory safetensors image: u64 header length, JSON header, data.
Result<SafetensorsContents> parse_safetensors(std::span<const std::byte> bytes);

// A set of mapped safetensors files seen as one directory of tensors.
struct SafetensorsSet {
  std::vector<MappedFile> files;
  TensorDirectory tensors;  // file_index says which of `files` holds each
};

// `path` is a .safetensors file, a model.safetensors.index.json, or a folder holding either.
// For a sharded set every shard the index names must exist and hold the tensors the index
// assigns to it.
Result<SafetensorsSet> open_safetensors(const std::filesystem::path& path);

}  // namespace whale
