// make_demo_model.cpp — writes whale's random-weight demo model: a miniature DeepSeek-V3
// (MLA with q_lora, YaRN-free RoPE, sigmoid + bias group-limited MoE with a shared expert, a
// dense first layer) with a byte-level vocabulary, DeepSeek's special tokens and an R1-style
// chat template. Deterministic from its seed. The weights are random: it shows the engine
// working end to end, not a trained model (whale-r1-tiny will replace it).
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "format/gguf_writer.h"

namespace {

using whale::DType;
using whale::Metadata;

class Rng {  // splitmix64 + Box-Muller: fixed output on every platform
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  float normal(float stddev) {
    const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2) * stddev);
  }

 private:
  std::uint64_t s_;
};

// GPT-2's byte-level alphabet: printable bytes stand for themselves, the rest are shifted
// past U+0100 so every byte has a visible character.
std::vector<std::string> byte_tokens() {
  std::vector<int> cps(256, -1);
  auto keep = [&](int lo, int hi) { for (int b = lo; b <= hi; ++b) cps[static_cast<std::size_t>(b)] = b; };
  keep('!', '~');
  keep(0xA1, 0xAC);
  keep(0xAE, 0xFF);
  int next = 256;
  for (auto& cp : cps)
    if (cp < 0) cp = next++;
  std::vector<std::string> out;
  for (int cp : cps) {
    std::string s;
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    out.push_back(s);
  }
  return out;
}

constexpr const char* kTemplate =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}"
    "{% elif message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{% set content = message['content'] %}"
    "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{ '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<｜Assistant｜><think>\\n' }}{% endif %}";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.gguf\n", argv[0]);
    return 2;
  }
  const std::int64_t hidden = 64, layers = 2, heads = 2, q_lora = 32, kv_lora = 32, nope = 16,
                     rope = 8, vd = 16, ffn = 96, experts = 4, moe_ffn = 32;
  std::vector<std::string> tokens = byte_tokens();
  std::vector<std::int32_t> types(tokens.size(), 1);  // normal
  const std::vector<std::string> specials = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>",
                                             "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"};
  for (const auto& s : specials) {
    tokens.push_back(s);
    types.push_back(s[0] == '<' && s.find("｜") != std::string::npos ? 3 : 4);  // control / user-defined
  }
  const auto vocab = static_cast<std::int64_t>(tokens.size());

  Metadata m;
  m.set("general.architecture", whale::meta_str("deepseek2"));
  m.set("general.name", whale::meta_str("whale demo (random weights)"));
  m.set("deepseek2.block_count", whale::meta_u32(layers));
  m.set("deepseek2.context_length", whale::meta_u32(2048));
  m.set("deepseek2.embedding_length", whale::meta_u32(hidden));
  m.set("deepseek2.feed_forward_length", whale::meta_u32(ffn));
  m.set("deepseek2.attention.head_count", whale::meta_u32(heads));
  m.set("deepseek2.attention.head_count_kv", whale::meta_u32(1));
  m.set("deepseek2.attention.q_lora_rank", whale::meta_u32(q_lora));
  m.set("deepseek2.attention.kv_lora_rank", whale::meta_u32(kv_lora));
  m.set("deepseek2.attention.key_length", whale::meta_u32(kv_lora + rope));
  m.set("deepseek2.attention.value_length", whale::meta_u32(kv_lora));
  m.set("deepseek2.attention.key_length_mla", whale::meta_u32(nope + rope));
  m.set("deepseek2.attention.value_length_mla", whale::meta_u32(vd));
  m.set("deepseek2.attention.layer_norm_rms_epsilon", whale::meta_f32(1e-6f));
  m.set("deepseek2.rope.dimension_count", whale::meta_u32(rope));
  m.set("deepseek2.rope.freq_base", whale::meta_f32(10000.0f));
  m.set("deepseek2.leading_dense_block_count", whale::meta_u32(1));
  m.set("deepseek2.expert_count", whale::meta_u32(experts));
  m.set("deepseek2.expert_used_count", whale::meta_u32(2));
  m.set("deepseek2.expert_shared_count", whale::meta_u32(1));
  m.set("deepseek2.expert_feed_forward_length", whale::meta_u32(moe_ffn));
  m.set("deepseek2.expert_weights_scale", whale::meta_f32(2.5f));
  m.set("deepseek2.expert_weights_norm", whale::meta_bool(true));
  m.set("deepseek2.expert_gating_func", whale::meta_u32(2));
  m.set("deepseek2.expert_group_count", whale::meta_u32(2));
  m.set("deepseek2.expert_group_used_count", whale::meta_u32(1));
  m.set("tokenizer.ggml.model", whale::meta_str("gpt2"));
  m.set("tokenizer.ggml.pre", whale::meta_str("deepseek-v3"));
  m.set("tokenizer.ggml.tokens", whale::meta_str_array(tokens));
  m.set("tokenizer.ggml.token_type", whale::meta_i32_array(types));
  m.set("tokenizer.ggml.merges", whale::meta_str_array({}));
  m.set("tokenizer.ggml.bos_token_id", whale::meta_u32(256));
  m.set("tokenizer.ggml.eos_token_id", whale::meta_u32(257));
  m.set("tokenizer.ggml.add_bos_token", whale::meta_bool(true));
  m.set("tokenizer.chat_template", whale::meta_str(kTemplate));

  whale::GgufWriter w(m);
  Rng rng(20250120);  // DeepSeek-R1's release date
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float stddev, float mean = 0.0f) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = mean + rng.normal(stddev);
    auto r = w.add_tensor(name, DType::kF32, std::move(shape),
                          std::span(reinterpret_cast<const std::byte*>(v.data()), v.size() * 4));
    if (!r.ok()) {
      std::fprintf(stderr, "make_demo_model: %s\n", r.error().what().c_str());
      std::exit(1);
    }
  };
  add("token_embd.weight", {vocab, hidden}, 0.5f);
  add("output_norm.weight", {hidden}, 0.05f, 1.0f);
  add("output.weight", {vocab, hidden}, 0.2f);
  for (std::int64_t l = 0; l < layers; ++l) {
    auto blk = [l](const char* s) { return fmt::format("blk.{}.{}", l, s); };
    add(blk("attn_norm.weight"), {hidden}, 0.05f, 1.0f);
    add(blk("ffn_norm.weight"), {hidden}, 0.05f, 1.0f);
    add(blk("attn_q_a.weight"), {q_lora, hidden}, 0.15f);
    add(blk("attn_q_a_norm.weight"), {q_lora}, 0.05f, 1.0f);
    add(blk("attn_q_b.weight"), {heads * (nope + rope), q_lora}, 0.15f);
    add(blk("attn_kv_a_mqa.weight"), {kv_lora + rope, hidden}, 0.15f);
    add(blk("attn_kv_a_norm.weight"), {kv_lora}, 0.05f, 1.0f);
    add(blk("attn_k_b.weight"), {heads, kv_lora, nope}, 0.15f);
    add(blk("attn_v_b.weight"), {heads, vd, kv_lora}, 0.15f);
    add(blk("attn_output.weight"), {hidden, heads * vd}, 0.15f);
    if (l == 0) {
      add(blk("ffn_gate.weight"), {ffn, hidden}, 0.15f);
      add(blk("ffn_up.weight"), {ffn, hidden}, 0.15f);
      add(blk("ffn_down.weight"), {hidden, ffn}, 0.1f);
    } else {
      add(blk("ffn_gate_inp.weight"), {experts, hidden}, 0.2f);
      add(blk("exp_probs_b.bias"), {experts}, 0.05f);
      add(blk("ffn_gate_exps.weight"), {experts, moe_ffn, hidden}, 0.15f);
      add(blk("ffn_up_exps.weight"), {experts, moe_ffn, hidden}, 0.15f);
      add(blk("ffn_down_exps.weight"), {experts, hidden, moe_ffn}, 0.1f);
      add(blk("ffn_gate_shexp.weight"), {moe_ffn, hidden}, 0.15f);
      add(blk("ffn_up_shexp.weight"), {moe_ffn, hidden}, 0.15f);
      add(blk("ffn_down_shexp.weight"), {hidden, moe_ffn}, 0.1f);
    }
  }
  auto r = w.write(argv[1]);
  if (!r.ok()) {
    std::fprintf(stderr, "make_demo_model: %s\n", r.error().what().c_str());
    return 1;
  }
  std::printf("wrote %s (random-weight demo model, %lld-token byte-level vocabulary)\n", argv[1],
              static_cast<long long>(vocab));
  return 0;
}
