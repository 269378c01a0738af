// gguf.h — GGUF (v2/v3, as llama.cpp writes it) parser: metadata, tensor infos, data layout.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "format/mapped_file.h"
#include "format/metadata.h"
#include "format/tensor_directory.h"
#include "util/status.h"

namespace whale {

inline constexpr std::uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr std::uint32_t kGgufDefaultAlignment = 32;

// A parsed GGUF image. Tensor records point into the bytes it was parsed from.
struct GgufContents {
  std::uint32_t version = 0;
  std::uint64_t alignment = kGgufDefaultAlignment;
  std::uint64_t data_offset = 0;  // where the tensor data section starts
  Metadata metadata;
  std::vector<TensorRecord> tensors;  // in file order
};

// Parses an in-memory GGUF image; every count, offset and size is checked against `bytes`.
Result<GgufContents> parse_gguf(std::span<const std::byte> bytes);

// A memory-mapped GGUF file and its parsed contents.
struct GgufFile {
  MappedFile file;
  GgufContents contents;
};
Result<GgufFile> open_gguf(const std::filesystem::path& path);

// For "name-00001-of-00004.gguf" returns every part's path in order; an empty vector when the
// name does not follow the split pattern.
std::vector<std::filesystem::path> gguf_split_paths(const std::filesystem::path& path);

}  // namespace whale
