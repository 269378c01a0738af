// test_models.h — tiny models whose parameter counts are worked out by hand in the comments of
// test_models.cpp: a DeepSeek-V2-style MoE GGUF (via GgufWriter) and a Qwen2 HF folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "format/metadata.h"

namespace whale::test {

// The tiny deepseek2 model: hidden 64, 3 layers (first dense), 2 heads, no q_lora,
// kv_lora 32, qk_nope 32, qk_rope 16, v 32, 4 routed experts (2 used) of width 16, 1 shared,
// dense FFN 96, vocab 100, context 256.
inline constexpr std::int64_t kTinyDsTotalParams = 115232;
inline constexpr std::int64_t kTinyDsActiveParams = 102944;
inline constexpr std::int64_t kTinyDsTensors = 41;
Metadata tiny_deepseek2_metadata();
// Writes the tiny deepseek2 GGUF with GgufWriter; fails the current test on error.
void write_tiny_deepseek2_gguf(const std::filesystem::path& path);

// The tiny Qwen2 folder: hidden 32, 2 layers, 4 heads, 2 KV heads (head dim 8),
// intermediate 64, vocab 50; config.json, generation_config.json and model.safetensors.
inline constexpr std::int64_t kTinyQwenTotalParams = 21920;
inline constexpr std::int64_t kTinyQwenTensors = 27;
std::string tiny_qwen2_config_json();
void write_tiny_qwen2_folder(const std::filesystem::path& dir);

// A safetensors image from (name, dtype name, shape, element bytes) entries, data packed in
// order; the bytes of tensor i are filled with the pattern (i + 1) * 17 + k.
struct StTensor {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::size_t elem_bytes;
};
std::vector<std::byte> make_safetensors(const std::vector<StTensor>& tensors,
                                        const std::string& metadata_json = "");

}  // namespace whale::test
