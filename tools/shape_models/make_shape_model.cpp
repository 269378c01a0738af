// make_shape_model.cpp — writes random-weight GGUF models with the exact tensor shapes of
// R1-Distill-Qwen-1.5B, DeepSeek-V2-Lite and a full-width slice of DeepSeek-V3, for
// benchmarks and tests: speed does not depend on weight values, so no real weights are
// needed. Tensor names and metadata keys are llama.cpp's (MLA in the k_b/v_b layout).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "format/gguf_writer.h"
#include "quant/dequantize.h"
#include "util/thread_pool.h"

namespace {

using whale::DType;
using whale::Metadata;

// Shapes from the public config.json files of the three models.
struct Shape {
  std::string arch;  // GGUF architecture
  std::string pre;   // tokenizer.ggml.pre
  std::int64_t hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0, vocab = 0;
  std::int64_t bos = 0, eos = 0, context = 0;
  // DeepSeek MLA + MoE.
  std::int64_t q_lora = 0, kv_lora = 0, nope = 0, rope = 0, v = 0;
  std::int64_t experts = 0, used = 0, shared = 0, expert_ffn = 0, dense_layers = 0;
  std::int64_t groups = 1, groups_used = 1;
  bool sigmoid = false;
  double route_scale = 1.0, yarn_mscale_all_dim = 0.0;
};

Shape qwen_1_5b() {
  Shape s;
  s.arch = "qwen2";
  s.pre = "deepseek-r1-qwen";
  s.hidden = 1536, s.layers = 28, s.heads = 12, s.kv_heads = 2, s.head_dim = 128, s.ffn = 8960;
  s.vocab = 151936, s.bos = 151646, s.eos = 151643, s.context = 131072;
  return s;
}

Shape v2_lite() {
  Shape s;
  s.arch = "deepseek2";
  s.pre = "deepseek-llm";
  s.hidden = 2048, s.layers = 27, s.heads = 16, s.ffn = 10944, s.vocab = 102400;
  s.bos = 100000, s.eos = 100001, s.context = 163840;
  s.q_lora = 0, s.kv_lora = 512, s.nope = 128, s.rope = 64, s.v = 128;
  s.experts = 64, s.used = 6, s.shared = 2, s.expert_ffn = 1408, s.dense_layers = 1;
  s.route_scale = 1.0, s.yarn_mscale_all_dim = 0.707;
  return s;
}

Shape v3_slice() {
  Shape s;
  s.arch = "deepseek2";
  s.pre = "deepseek-v3";
  // One routed-expert layer alone is 256 x 3 x 7168 x 2048 = 11.3 G parameters (12 GB in
  // Q8_0), so the slice defaults to one dense layer and one MoE layer: each per-layer kernel
  // of the full model, at its real width, once.
  s.hidden = 7168, s.layers = 2, s.heads = 128, s.ffn = 18432, s.vocab = 129280;
  s.bos = 0, s.eos = 1, s.context = 163840;
  s.q_lora = 1536, s.kv_lora = 512, s.nope = 128, s.rope = 64, s.v = 128;
  s.experts = 256, s.used = 8, s.shared = 1, s.expert_ffn = 2048, s.dense_layers = 3;
  s.groups = 8, s.groups_used = 4, s.sigmoid = true;
  s.route_scale = 2.5, s.yarn_mscale_all_dim = 1.0;
  return s;
}

// How a tensor's values are drawn.
enum class Init { kOnes, kSmall, kMatrix, kEmbedding };

struct TensorSpec {
  std::string name;
  std::vector<std::int64_t> shape;  // outermost first
  Init init;
  bool quantizable;  // weight matrices take --type; norms, biases and the router stay F32
};

std::vector<TensorSpec> tensor_specs(const Shape& s) {
  std::vector<TensorSpec> t;
  auto mat = [&](std::string name, std::vector<std::int64_t> shape) {
    t.push_back({std::move(name), std::move(shape), Init::kMatrix, true});
  };
  auto vec = [&](std::string name, std::int64_t n, Init init) { t.push_back({std::move(name), {n}, init, false}); };
  t.push_back({"token_embd.weight", {s.vocab, s.hidden}, Init::kEmbedding, true});
  vec("output_norm.weight", s.hidden, Init::kOnes);
  mat("output.weight", {s.vocab, s.hidden});
  for (std::int64_t l = 0; l < s.layers; ++l) {
    auto blk = [l](const char* n) { return fmt::format("blk.{}.{}", l, n); };
    vec(blk("attn_norm.weight"), s.hidden, Init::kOnes);
    vec(blk("ffn_norm.weight"), s.hidden, Init::kOnes);
    if (s.arch == "qwen2") {
      mat(blk("attn_q.weight"), {s.heads * s.head_dim, s.hidden});
      mat(blk("attn_k.weight"), {s.kv_heads * s.head_dim, s.hidden});
      mat(blk("attn_v.weight"), {s.kv_heads * s.head_dim, s.hidden});
      vec(blk("attn_q.bias"), s.heads * s.head_dim, Init::kSmall);
      vec(blk("attn_k.bias"), s.kv_heads * s.head_dim, Init::kSmall);
      vec(blk("attn_v.bias"), s.kv_heads * s.head_dim, Init::kSmall);
      mat(blk("attn_output.weight"), {s.hidden, s.heads * s.head_dim});
      mat(blk("ffn_gate.weight"), {s.ffn, s.hidden});
      mat(blk("ffn_up.weight"), {s.ffn, s.hidden});
      mat(blk("ffn_down.weight"), {s.hidden, s.ffn});
      continue;
    }
    const std::int64_t qk = s.nope + s.rope;
    if (s.q_lora > 0) {
      mat(blk("attn_q_a.weight"), {s.q_lora, s.hidden});
      vec(blk("attn_q_a_norm.weight"), s.q_lora, Init::kOnes);
      mat(blk("attn_q_b.weight"), {s.heads * qk, s.q_lora});
    } else {
      mat(blk("attn_q.weight"), {s.heads * qk, s.hidden});
    }
    mat(blk("attn_kv_a_mqa.weight"), {s.kv_lora + s.rope, s.hidden});
    vec(blk("attn_kv_a_norm.weight"), s.kv_lora, Init::kOnes);
    mat(blk("attn_k_b.weight"), {s.heads, s.kv_lora, s.nope});
    mat(blk("attn_v_b.weight"), {s.heads, s.v, s.kv_lora});
    mat(blk("attn_output.weight"), {s.hidden, s.heads * s.v});
    if (l < s.dense_layers) {
      mat(blk("ffn_gate.weight"), {s.ffn, s.hidden});
      mat(blk("ffn_up.weight"), {s.ffn, s.hidden});
      mat(blk("ffn_down.weight"), {s.hidden, s.ffn});
      continue;
    }
    t.push_back({blk("ffn_gate_inp.weight"), {s.experts, s.hidden}, Init::kMatrix, false});
    if (s.sigmoid) vec(blk("exp_probs_b.bias"), s.experts, Init::kSmall);
    mat(blk("ffn_gate_exps.weight"), {s.experts, s.expert_ffn, s.hidden});
    mat(blk("ffn_up_exps.weight"), {s.experts, s.expert_ffn, s.hidden});
    mat(blk("ffn_down_exps.weight"), {s.experts, s.hidden, s.expert_ffn});
    if (s.shared > 0) {
      mat(blk("ffn_gate_shexp.weight"), {s.shared * s.expert_ffn, s.hidden});
      mat(blk("ffn_up_shexp.weight"), {s.shared * s.expert_ffn, s.hidden});
      mat(blk("ffn_down_shexp.weight"), {s.hidden, s.shared * s.expert_ffn});
    }
  }
  return t;
}

Metadata shape_metadata(const Shape& s, const std::string& shape_name) {
  Metadata m;
  auto key = [&](const char* k) { return fmt::format("{}.{}", s.arch, k); };
  m.set("general.architecture", whale::meta_str(s.arch));
  m.set("general.name", whale::meta_str(fmt::format("whale shape model {} (random weights)", shape_name)));
  m.set(key("block_count"), whale::meta_u32(static_cast<std::uint32_t>(s.layers)));
  m.set(key("context_length"), whale::meta_u32(static_cast<std::uint32_t>(s.context)));
  m.set(key("embedding_length"), whale::meta_u32(static_cast<std::uint32_t>(s.hidden)));
  m.set(key("feed_forward_length"), whale::meta_u32(static_cast<std::uint32_t>(s.ffn)));
  m.set(key("attention.head_count"), whale::meta_u32(static_cast<std::uint32_t>(s.heads)));
  m.set(key("attention.layer_norm_rms_epsilon"), whale::meta_f32(1e-6f));
  m.set(key("rope.freq_base"), whale::meta_f32(10000.0f));
  if (s.arch == "qwen2") {
    m.set(key("attention.head_count_kv"), whale::meta_u32(static_cast<std::uint32_t>(s.kv_heads)));
  } else {
    auto u32 = [](std::int64_t v) { return whale::meta_u32(static_cast<std::uint32_t>(v)); };
    // The k_b/v_b layout: one latent "KV head" of kv_lora + rope keys and kv_lora values, the
    // per-head MLA widths under the *_mla keys.
    m.set(key("attention.head_count_kv"), u32(1));
    if (s.q_lora > 0) m.set(key("attention.q_lora_rank"), u32(s.q_lora));
    m.set(key("attention.kv_lora_rank"), u32(s.kv_lora));
    m.set(key("attention.key_length"), u32(s.kv_lora + s.rope));
    m.set(key("attention.value_length"), u32(s.kv_lora));
    m.set(key("attention.key_length_mla"), u32(s.nope + s.rope));
    m.set(key("attention.value_length_mla"), u32(s.v));
    m.set(key("rope.dimension_count"), u32(s.rope));
    m.set(key("rope.scaling.type"), whale::meta_str("yarn"));
    m.set(key("rope.scaling.factor"), whale::meta_f32(40.0f));
    m.set(key("rope.scaling.original_context_length"), u32(4096));
    m.set(key("rope.scaling.yarn_log_multiplier"), whale::meta_f32(static_cast<float>(0.1 * s.yarn_mscale_all_dim)));
    m.set(key("leading_dense_block_count"), u32(s.dense_layers));
    m.set(key("expert_count"), u32(s.experts));
    m.set(key("expert_used_count"), u32(s.used));
    m.set(key("expert_shared_count"), u32(s.shared));
    m.set(key("expert_feed_forward_length"), u32(s.expert_ffn));
    m.set(key("expert_weights_scale"), whale::meta_f32(static_cast<float>(s.route_scale)));
    m.set(key("expert_weights_norm"), whale::meta_bool(s.sigmoid));
    m.set(key("expert_gating_func"), u32(s.sigmoid ? 2 : 1));
    if (s.groups > 1) {
      m.set(key("expert_group_count"), u32(s.groups));
      m.set(key("expert_group_used_count"), u32(s.groups_used));
    }
  }
  // A placeholder vocabulary: the right size for the embedding and output shapes.
  std::vector<std::string> tokens(static_cast<std::size_t>(s.vocab));
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = fmt::format("<tok{}>", i);
  m.set("tokenizer.ggml.model", whale::meta_str("gpt2"));
  m.set("tokenizer.ggml.pre", whale::meta_str(s.pre));
  m.set("tokenizer.ggml.tokens", whale::meta_str_array(tokens));
  m.set("tokenizer.ggml.token_type", whale::meta_i32_array(std::vector<std::int32_t>(tokens.size(), 1)));
  m.set("tokenizer.ggml.merges", whale::meta_str_array({}));
  m.set("tokenizer.ggml.bos_token_id", whale::meta_u32(static_cast<std::uint32_t>(s.bos)));
  m.set("tokenizer.ggml.eos_token_id", whale::meta_u32(static_cast<std::uint32_t>(s.eos)));
  return m;
}

std::uint64_t mix(std::uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Fills row `row` of a tensor with values drawn from (seed, tensor, row) only, so the file is
// the same whatever the thread count. A 32-bit LCG per row is plenty: only the shapes matter.
void draw_row(const TensorSpec& t, std::uint64_t seed, std::size_t tensor, std::int64_t row, float* out,
              std::int64_t cols) {
  if (t.init == Init::kOnes) {
    for (std::int64_t i = 0; i < cols; ++i) out[i] = 1.0f;
    return;
  }
  // Uniform in [-a, a]: variance a^2/3 = 1/cols keeps each matmul output near unit scale.
  const float a = t.init == Init::kMatrix ? std::sqrt(3.0f / static_cast<float>(cols))
                  : t.init == Init::kEmbedding ? 1.0f : 0.02f;
  const float scale = a / 2147483648.0f;
  auto x = static_cast<std::uint32_t>(mix(seed ^ mix(tensor * 0x100000001b3ull + static_cast<std::uint64_t>(row))));
  for (std::int64_t i = 0; i < cols; ++i) {
    x = x * 1664525u + 1013904223u;
    out[i] = static_cast<float>(static_cast<std::int32_t>(x)) * scale;
  }
}

struct Options {
  std::string shape;
  std::string out;
  std::string type = "q8_0";
  std::int64_t layers = 0;      // 0: the shape's default
  std::int64_t tiny_vocab = 0;  // hidden, for tests: a smaller vocabulary
  std::uint64_t seed = 20250120;
  int threads = 0;
};

int run(const Options& o) {
  const std::map<std::string, Shape (*)()> shapes = {
      {"r1-distill-qwen-1.5b", qwen_1_5b}, {"deepseek-v2-lite", v2_lite}, {"deepseek-v3-slice", v3_slice}};
  const std::map<std::string, DType> types = {
      {"f32", DType::kF32},   {"f16", DType::kF16},   {"bf16", DType::kBF16}, {"q8_0", DType::kQ8_0},
      {"q4_0", DType::kQ4_0}, {"q4_k", DType::kQ4_K}, {"q5_k", DType::kQ5_K}, {"q6_k", DType::kQ6_K}};
  Shape s = shapes.at(o.shape)();
  const DType dtype = types.at(o.type);
  if (o.layers > 0) s.layers = o.layers;
  // A slice keeps at least one MoE layer when it has room for one.
  if (s.experts > 0) s.dense_layers = std::min(s.dense_layers, std::max<std::int64_t>(s.layers - 1, 0));
  if (o.tiny_vocab > 0) {
    s.vocab = o.tiny_vocab;
    s.bos = std::max<std::int64_t>(s.vocab - 2, 0);
    s.eos = s.vocab - 1;
  }
  whale::GgufWriter w(shape_metadata(s, o.shape));
  whale::ThreadPool pool(o.threads > 0 ? o.threads : whale::ThreadPool::default_threads());
  const auto specs = tensor_specs(s);
  std::uint64_t total_bytes = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& t = specs[i];
    const std::int64_t cols = t.shape.back();
    DType dt = t.quantizable ? dtype : DType::kF32;
    // Rows that are not a whole number of 256-element super-blocks (V2-Lite's 1408-wide expert
    // down projections) take the 32-block type the established K-quant recipes fall back to.
    if (!whale::row_bytes(dt, cols)) {
      if (dt == DType::kQ4_K) dt = DType::kQ5_0;
      else if (dt == DType::kQ5_K) dt = DType::kQ5_1;
      else if (dt == DType::kQ6_K) dt = DType::kQ8_0;
    }
    auto rb = whale::row_bytes(dt, cols);
    if (!rb) {
      std::fprintf(stderr, "whale-make-shape-model: %s: %lld columns is not a whole number of %s blocks\n",
                   t.name.c_str(), static_cast<long long>(cols), std::string(whale::dtype_name(dt)).c_str());
      return 1;
    }
    const std::size_t row_bytes = *rb;
    const std::uint64_t seed = o.seed;
    auto fill = [&pool, &t, i, dt, cols, row_bytes, seed](std::span<std::byte> out) -> whale::Result<void> {
      const auto rows = static_cast<std::int64_t>(out.size() / row_bytes);
      pool.parallel_for(rows, [&](whale::RowRange r, int) {
        std::vector<float> buf(static_cast<std::size_t>(cols));
        for (std::int64_t row = r.begin; row < r.end; ++row) {
          draw_row(t, seed, i, row, buf.data(), cols);
          whale::quantize_row(dt, buf.data(), out.data() + static_cast<std::size_t>(row) * row_bytes, cols);
        }
      }, 16);
      return {};
    };
    auto added = w.add_tensor(t.name, dt, t.shape, fill);
    if (!added.ok()) {
      std::fprintf(stderr, "whale-make-shape-model: %s\n", added.error().what().c_str());
      return 1;
    }
    std::uint64_t n = row_bytes;
    for (std::size_t d = 0; d + 1 < t.shape.size(); ++d) n *= static_cast<std::uint64_t>(t.shape[d]);
    total_bytes += n;
  }
  auto r = w.write(o.out, fmt::format("{} {}", o.shape, o.type));
  if (!r.ok()) {
    std::fprintf(stderr, "whale-make-shape-model: %s\n", r.error().what().c_str());
    return 1;
  }
  fmt::print("wrote {}: {} ({}), {} layers, {} tensors, {:.2f} GB of weights\n", o.out, o.shape, o.type,
             s.layers, specs.size(), static_cast<double>(total_bytes) / 1e9);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Write a random-weight GGUF model with the exact tensor shapes of a real one, for "
      "benchmarks and tests (speed does not depend on weight values)."};
  Options o;
  app.add_option("shape", o.shape, "r1-distill-qwen-1.5b, deepseek-v2-lite or deepseek-v3-slice")
      ->required()->check(CLI::IsMember({"r1-distill-qwen-1.5b", "deepseek-v2-lite", "deepseek-v3-slice"}));
  app.add_option("out", o.out, "output .gguf path")->required();
  app.add_option("--type", o.type, "weight type of the matrices (norms, biases and the router stay f32)")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k"}))->capture_default_str();
  app.add_option("--layers", o.layers,
                 "decoder layers (default: the real model's; deepseek-v3-slice: 2, one dense and one MoE)")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "seed of the random weights")->capture_default_str();
  app.add_option("-t,--threads", o.threads, "threads (default: all cores)");
  app.add_option("--tiny-vocab", o.tiny_vocab, "")->group("")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  return run(o);
}
