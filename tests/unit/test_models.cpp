// test_models.cpp — builders of the tiny test models. The counts in test_models.h:
//
// deepseek2 (H=64, V=100, I=96, E=4, K=2, S=1, M=16, heads 2, kv_lora 32, nope 32, rope 16, v 32)
//   token_embd [100,64] Q8_0 6400, output_norm [64] 64, output [100,64] F16 6400   -> 12864
//   per layer: attn_norm 64, attn_q [96,64] 6144, attn_kv_a_mqa [48,64] 3072,
//              attn_kv_a_norm 32, attn_kv_b [128,32] 4096, attn_output [64,64] 4096,
//              ffn_norm 64                                                          -> 17568 x 3
//   layer 0 dense FFN: gate/up [96,64], down [64,96] = 3 x 6144                     -> 18432
//   layers 1-2 MoE: gate_inp [4,64] 256, {gate,up}_exps [4,16,64] and down_exps [4,64,16]
//              3 x 4096, shared {gate,up} [16,64] + down [64,16] 3 x 1024           -> 15616 x 2
//   total = 12864 + 52704 + 18432 + 31232 = 115232
//   active = total - 2 MoE layers x (4 - 2) unused experts x 3 x 64 x 16 = 115232 - 12288 = 102944
//   tensors: 3 + 7 x 3 + 3 + 7 x 2 = 41
//
// qwen2 (H=32, V=50, I=64, heads 4, kv heads 2, head dim 8)
//   embed [50,32] 1600, lm_head [50,32] 1600, final norm 32
//   per layer: q [32,32]+b 1056, k [16,32]+b 528, v 528, o 1024, gate/up [64,32] 2x2048,
//              down [32,64] 2048, two norms 64                                     -> 9344 x 2
//   total = 3232 + 18688 = 21920; tensors 3 + 12 x 2 = 27
#include "unit/test_models.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "format/gguf_writer.h"
#include "unit/test_files.h"

namespace whale::test {

Metadata tiny_deepseek2_metadata() {
  Metadata m;
  auto u32 = [&](const char* k, std::uint32_t v) { m.set(fmt::format("deepseek2.{}", k), meta_u32(v)); };
  m.set("general.architecture", meta_str("deepseek2"));
  m.set("general.name", meta_str("tiny-ds"));
  u32("block_count", 3);
  u32("context_length", 256);
  u32("embedding_length", 64);
  u32("feed_forward_length", 96);
  u32("attention.head_count", 2);
  u32("attention.head_count_kv", 2);
  m.set("deepseek2.rope.freq_base", meta_f32(10000.0f));
  m.set("deepseek2.attention.layer_norm_rms_epsilon", meta_f32(1e-6f));
  u32("expert_used_count", 2);
  u32("leading_dense_block_count", 1);
  u32("vocab_size", 100);
  u32("attention.kv_lora_rank", 32);
  u32("attention.key_length", 48);
  u32("attention.value_length", 32);
  u32("rope.dimension_count", 16);
  u32("expert_feed_forward_length", 16);
  u32("expert_count", 4);
  u32("expert_shared_count", 1);
  m.set("deepseek2.expert_weights_scale", meta_f32(1.0f));
  u32("expert_gating_func", 1);
  return m;
}

namespace {
void add(GgufWriter& w, const std::string& name, DType t, std::vector<std::int64_t> shape) {
  auto r = w.add_tensor(name, t, std::move(shape), [name](std::span<std::byte> out) -> Result<void> {
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<std::byte>((i * 31 + name.size()) & 0x3f);  // small, finite values
    return {};
  });
  if (!r.ok()) ADD_FAILURE() << r.error().what();
}
}  // namespace

void write_tiny_deepseek2_gguf(const std::filesystem::path& path) {
  GgufWriter w(tiny_deepseek2_metadata());
  add(w, "token_embd.weight", DType::kQ8_0, {100, 64});
  add(w, "output_norm.weight", DType::kF32, {64});
  add(w, "output.weight", DType::kF16, {100, 64});
  for (int l = 0; l < 3; ++l) {
    auto n = [l](const char* s) { return fmt::format("blk.{}.{}.weight", l, s); };
    add(w, n("attn_norm"), DType::kF32, {64});
    add(w, n("attn_q"), DType::kF32, {96, 64});
    add(w, n("attn_kv_a_mqa"), DType::kF32, {48, 64});
    add(w, n("attn_kv_a_norm"), DType::kF32, {32});
    add(w, n("attn_kv_b"), DType::kF32, {128, 32});
    add(w, n("attn_output"), DType::kF32, {64, 64});
    add(w, n("ffn_norm"), DType::kF32, {64});
    if (l == 0) {
      add(w, n("ffn_gate"), DType::kF32, {96, 64});
      add(w, n("ffn_up"), DType::kF32, {96, 64});
      add(w, n("ffn_down"), DType::kF32, {64, 96});
    } else {
      add(w, n("ffn_gate_inp"), DType::kF32, {4, 64});
      add(w, n("ffn_gate_exps"), DType::kF16, {4, 16, 64});
      add(w, n("ffn_up_exps"), DType::kF16, {4, 16, 64});
      add(w, n("ffn_down_exps"), DType::kF16, {4, 64, 16});
      add(w, n("ffn_gate_shexp"), DType::kF32, {16, 64});
      add(w, n("ffn_up_shexp"), DType::kF32, {16, 64});
      add(w, n("ffn_down_shexp"), DType::kF32, {64, 16});
    }
  }
  auto r = w.write(path);
  if (!r.ok()) ADD_FAILURE() << r.error().what();
}

std::vector<std::byte> make_safetensors(const std::vector<StTensor>& tensors,
                                        const std::string& metadata_json) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_json.empty()) header["__metadata__"] = nlohmann::ordered_json::parse(metadata_json);
  std::uint64_t offset = 0;
  std::vector<std::byte> data;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    std::uint64_t n = t.elem_bytes;
    for (auto d : t.shape) n *= static_cast<std::uint64_t>(d);
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
    for (std::uint64_t k = 0; k < n; ++k)
      data.push_back(static_cast<std::byte>(((i + 1) * 17 + k) & 0xff));
    offset += n;
  }
  std::string h = header.dump();
  while (h.size() % 8 != 0) h.push_back(' ');
  std::vector<std::byte> out(8);
  const std::uint64_t len = h.size();
  std::memcpy(out.data(), &len, 8);
  for (char c : h) out.push_back(static_cast<std::byte>(c));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::string tiny_qwen2_config_json() {
  return R"({
  "architectures": ["Qwen2ForCausalLM"],
  "model_type": "qwen2",
  "hidden_size": 32,
  "intermediate_size": 64,
  "num_hidden_layers": 2,
  "num_attention_heads": 4,
  "num_key_value_heads": 2,
  "vocab_size": 50,
  "max_position_embeddings": 512,
  "rms_norm_eps": 1e-06,
  "rope_theta": 10000,
  "tie_word_embeddings": false,
  "use_sliding_window": false,
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "torch_dtype": "bfloat16"
})";
}

void write_tiny_qwen2_folder(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  write_text(dir / "config.json", tiny_qwen2_config_json());
  write_text(dir / "generation_config.json",
             R"({"bos_token_id": 1, "eos_token_id": 2, "temperature": 0.6, "top_p": 0.95})");
  std::vector<StTensor> t;
  t.push_back({"model.embed_tokens.weight", "BF16", {50, 32}, 2});
  for (int l = 0; l < 2; ++l) {
    auto n = [l](const char* s) { return fmt::format("model.layers.{}.{}", l, s); };
    t.push_back({n("self_attn.q_proj.weight"), "BF16", {32, 32}, 2});
    t.push_back({n("self_attn.q_proj.bias"), "BF16", {32}, 2});
    t.push_back({n("self_attn.k_proj.weight"), "BF16", {16, 32}, 2});
    t.push_back({n("self_attn.k_proj.bias"), "BF16", {16}, 2});
    t.push_back({n("self_attn.v_proj.weight"), "BF16", {16, 32}, 2});
    t.push_back({n("self_attn.v_proj.bias"), "BF16", {16}, 2});
    t.push_back({n("self_attn.o_proj.weight"), "BF16", {32, 32}, 2});
    t.push_back({n("mlp.gate_proj.weight"), "BF16", {64, 32}, 2});
    t.push_back({n("mlp.up_proj.weight"), "BF16", {64, 32}, 2});
    t.push_back({n("mlp.down_proj.weight"), "BF16", {32, 64}, 2});
    t.push_back({n("input_layernorm.weight"), "F32", {32}, 4});
    t.push_back({n("post_attention_layernorm.weight"), "F32", {32}, 4});
  }
  t.push_back({"model.norm.weight", "F32", {32}, 4});
  t.push_back({"lm_head.weight", "BF16", {50, 32}, 2});
  write_bytes(dir / "model.safetensors", make_safetensors(t, R"({"format": "pt"})"));
}

}  // namespace whale::test
