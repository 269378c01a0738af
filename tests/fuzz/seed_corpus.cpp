// seed_corpus.cpp — writes the fuzzers' seed corpora (valid files from whale's writer, the
// hand-built valid files and every crafted bad file) into OUT_DIR/{gguf,safetensors,hf_config}.
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/bad/crafted.h"
#include "format/gguf_writer.h"

namespace {

void write(const std::filesystem::path& path, const void* data, std::size_t n) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}
void write(const std::filesystem::path& path, const std::vector<std::byte>& b) {
  write(path, b.data(), b.size());
}

// A small deepseek2 model that config_from_gguf accepts, so the fuzzer starts deep inside.
whale::Result<std::vector<std::byte>> deepseek2_gguf(std::uint32_t alignment) {
  using namespace whale;
  Metadata m;
  auto u32 = [&](const char* k, std::uint32_t v) { m.set(fmt::format("deepseek2.{}", k), meta_u32(v)); };
  m.set("general.architecture", meta_str("deepseek2"));
  m.set("general.alignment", meta_u32(alignment));
  u32("block_count", 2);
  u32("context_length", 64);
  u32("embedding_length", 32);
  u32("feed_forward_length", 64);
  u32("attention.head_count", 2);
  u32("attention.kv_lora_rank", 16);
  u32("attention.key_length", 24);
  u32("attention.value_length", 16);
  u32("rope.dimension_count", 8);
  u32("expert_count", 4);
  u32("expert_used_count", 2);
  u32("expert_shared_count", 1);
  u32("expert_feed_forward_length", 8);
  u32("leading_dense_block_count", 1);
  u32("expert_gating_func", 2);
  u32("expert_group_count", 2);
  u32("expert_group_used_count", 1);
  m.set("deepseek2.rope.scaling.type", meta_str("yarn"));
  m.set("deepseek2.rope.scaling.factor", meta_f32(4.0f));
  u32("rope.scaling.original_context_length", 16);
  m.set("tokenizer.ggml.tokens", meta_str_array({"<s>", "</s>", "a", "b", "\xe2\x96\x81x"}));
  m.set("tokenizer.ggml.scores", meta_f32_array({0.0f, 0.0f, -1.0f, -2.0f, -3.0f}));
  m.set("tokenizer.ggml.bos_token_id", meta_u32(0));
  m.set("nested", MetaValue{MetaArray{MetaType::kArray, {meta_i32_array({1, 2}), meta_str_array({"z"})}}});
  GgufWriter w(m);
  std::vector<std::byte> q8(34, std::byte{1}), f32(4 * 32, std::byte{0}), f16(2 * 64, std::byte{0x3c});
  WHALE_TRY_VOID(w.add_tensor("token_embd.weight", DType::kQ8_0, {1, 32}, q8));
  WHALE_TRY_VOID(w.add_tensor("output_norm.weight", DType::kF32, {32}, f32));
  WHALE_TRY_VOID(w.add_tensor("blk.1.ffn_gate_exps.weight", DType::kF16, {4, 2, 8}, f16));
  return w.to_bytes();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path out = argv[1];
  for (const char* d : {"gguf", "safetensors", "hf_config"}) std::filesystem::create_directories(out / d);
  int n = 0;
  for (std::uint32_t align : {32u, 64u}) {
    auto g = deepseek2_gguf(align);
    if (!g.ok()) {
      std::fprintf(stderr, "seed_corpus: %s\n", g.error().what().c_str());
      return 1;
    }
    write(out / "gguf" / fmt::format("writer_deepseek2_a{}.gguf", align), *g);
    ++n;
  }
  write(out / "gguf" / "small_valid.gguf", whale::test::small_valid_gguf());
  for (const auto& f : whale::test::crafted_gguf_files()) {
    write(out / "gguf" / f.name, f.bytes);
    ++n;
  }
  write(out / "safetensors" / "small_valid.safetensors", whale::test::small_valid_safetensors());
  write(out / "safetensors" / "dtypes.safetensors",
        whale::test::safetensors_image(
            R"({"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
            R"("b":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[12,16]},)"
            R"("c":{"dtype":"I64","shape":[],"data_offsets":[16,24]},)"
            R"("d":{"dtype":"U8","shape":[0,5],"data_offsets":[24,24]}})",
            24));
  for (const auto& f : whale::test::crafted_safetensors_files()) {
    write(out / "safetensors" / f.name, f.bytes);
    ++n;
  }
  const char* configs[] = {
      R"({"model_type":"deepseek_v3","q_lora_rank":1536,"rope_scaling":{"type":"yarn","factor":40,)"
      R"("original_max_position_embeddings":4096,"mscale_all_dim":1.0},"eos_token_id":1})",
      R"({"model_type":"deepseek_v2","q_lora_rank":null,"n_routed_experts":64,"num_experts_per_tok":6,)"
      R"("n_shared_experts":2,"first_k_dense_replace":1,"topk_method":"greedy"})",
      R"({"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_size":1536,)"
      R"("num_attention_heads":12,"num_key_value_heads":2,"use_sliding_window":false})",
      R"({"model_type":"llama","rope_scaling":{"rope_type":"llama3","factor":8.0,)"
      R"("original_max_position_embeddings":8192},"eos_token_id":[128001,128009]})",
      R"({"temperature":0.6,"top_p":0.95,"top_k":40,"bos_token_id":0,"eos_token_id":[1,2]})",
  };
  int i = 0;
  for (const char* c : configs) {
    write(out / "hf_config" / fmt::format("config{}.json", i++), c, std::strlen(c));
    ++n;
  }
  std::printf("seed_corpus: wrote %d seeds to %s\n", n + 3, out.c_str());
  return 0;
}
