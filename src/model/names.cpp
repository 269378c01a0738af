// names.cpp — GGUF and Hugging Face tensor names by role.
#include "model/names.h"

#include <fmt/format.h>

namespace whale {
namespace {

std::string gguf_name(Role role, std::int64_t l) {
  auto blk = [l](const char* s) { return fmt::format("blk.{}.{}", l, s); };
  switch (role) {
    case Role::kTokenEmbd: return "token_embd.weight";
    case Role::kOutputNorm: return "output_norm.weight";
    case Role::kOutput: return "output.weight";
    case Role::kRopeFreqs: return "rope_freqs.weight";
    case Role::kAttnNorm: return blk("attn_norm.weight");
    case Role::kFfnNorm: return blk("ffn_norm.weight");
    case Role::kAttnQ: return blk("attn_q.weight");
    case Role::kAttnQBias: return blk("attn_q.bias");
    case Role::kAttnK: return blk("attn_k.weight");
    case Role::kAttnKBias: return blk("attn_k.bias");
    case Role::kAttnV: return blk("attn_v.weight");
    case Role::kAttnVBias: return blk("attn_v.bias");
    case Role::kAttnOutput: return blk("attn_output.weight");
    case Role::kAttnQA: return blk("attn_q_a.weight");
    case Role::kAttnQANorm: return blk("attn_q_a_norm.weight");
    case Role::kAttnQB: return blk("attn_q_b.weight");
    case Role::kAttnKvAMqa: return blk("attn_kv_a_mqa.weight");
    case Role::kAttnKvANorm: return blk("attn_kv_a_norm.weight");
    case Role::kAttnKvB: return blk("attn_kv_b.weight");
    case Role::kAttnKB: return blk("attn_k_b.weight");
    case Role::kAttnVB: return blk("attn_v_b.weight");
    case Role::kFfnGate: return blk("ffn_gate.weight");
    case Role::kFfnUp: return blk("ffn_up.weight");
    case Role::kFfnDown: return blk("ffn_down.weight");
    case Role::kFfnGateInp: return blk("ffn_gate_inp.weight");
    case Role::kExpProbsBias: return blk("exp_probs_b.bias");
    case Role::kFfnGateExps: return blk("ffn_gate_exps.weight");
    case Role::kFfnUpExps: return blk("ffn_up_exps.weight");
    case Role::kFfnDownExps: return blk("ffn_down_exps.weight");
    case Role::kFfnGateShexp: return blk("ffn_gate_shexp.weight");
    case Role::kFfnUpShexp: return blk("ffn_up_shexp.weight");
    case Role::kFfnDownShexp: return blk("ffn_down_shexp.weight");
    case Role::kExpertGate: case Role::kExpertUp: case Role::kExpertDown: return "";
    case Role::kNextnEmbedTokens: return blk("nextn.embed_tokens.weight");
    case Role::kNextnEnorm: return blk("nextn.enorm.weight");
    case Role::kNextnHnorm: return blk("nextn.hnorm.weight");
    case Role::kNextnEhProj: return blk("nextn.eh_proj.weight");
    case Role::kNextnSharedHeadNorm: return blk("nextn.shared_head_norm.weight");
    case Role::kNextnSharedHeadHead: return blk("nextn.shared_head_head.weight");
  }
  return "";
}

std::string hf_name(Role role, std::int64_t l, std::int64_t e) {
  auto layer = [l](const char* s) { return fmt::format("model.layers.{}.{}", l, s); };
  auto expert = [l, e](const char* s) { return fmt::format("model.layers.{}.mlp.experts.{}.{}", l, e, s); };
  switch (role) {
    case Role::kTokenEmbd: return "model.embed_tokens.weight";
    case Role::kOutputNorm: return "model.norm.weight";
    case Role::kOutput: return "lm_head.weight";
    case Role::kRopeFreqs: return "";
    case Role::kAttnNorm: return layer("input_layernorm.weight");
    case Role::kFfnNorm: return layer("post_attention_layernorm.weight");
    case Role::kAttnQ: return layer("self_attn.q_proj.weight");
    case Role::kAttnQBias: return layer("self_attn.q_proj.bias");
    case Role::kAttnK: return layer("self_attn.k_proj.weight");
    case Role::kAttnKBias: return layer("self_attn.k_proj.bias");
    case Role::kAttnV: return layer("self_attn.v_proj.weight");
    case Role::kAttnVBias: return layer("self_attn.v_proj.bias");
    case Role::kAttnOutput: return layer("self_attn.o_proj.weight");
    case Role::kAttnQA: return layer("self_attn.q_a_proj.weight");
    case Role::kAttnQANorm: return layer("self_attn.q_a_layernorm.weight");
    case Role::kAttnQB: return layer("self_attn.q_b_proj.weight");
    case Role::kAttnKvAMqa: return layer("self_attn.kv_a_proj_with_mqa.weight");
    case Role::kAttnKvANorm: return layer("self_attn.kv_a_layernorm.weight");
    case Role::kAttnKvB: return layer("self_attn.kv_b_proj.weight");
    case Role::kAttnKB: case Role::kAttnVB: return "";
    case Role::kFfnGate: return layer("mlp.gate_proj.weight");
    case Role::kFfnUp: return layer("mlp.up_proj.weight");
    case Role::kFfnDown: return layer("mlp.down_proj.weight");
    case Role::kFfnGateInp: return layer("mlp.gate.weight");
    case Role::kExpProbsBias: return layer("mlp.gate.e_score_correction_bias");
    case Role::kFfnGateExps: case Role::kFfnUpExps: case Role::kFfnDownExps: return "";
    case Role::kExpertGate: return expert("gate_proj.weight");
    case Role::kExpertUp: return expert("up_proj.weight");
    case Role::kExpertDown: return expert("down_proj.weight");
    case Role::kFfnGateShexp: return layer("mlp.shared_experts.gate_proj.weight");
    case Role::kFfnUpShexp: return layer("mlp.shared_experts.up_proj.weight");
    case Role::kFfnDownShexp: return layer("mlp.shared_experts.down_proj.weight");
    case Role::kNextnEmbedTokens: return layer("embed_tokens.weight");
    case Role::kNextnEnorm: return layer("enorm.weight");
    case Role::kNextnHnorm: return layer("hnorm.weight");
    case Role::kNextnEhProj: return layer("eh_proj.weight");
    case Role::kNextnSharedHeadNorm: return layer("shared_head.norm.weight");
    case Role::kNextnSharedHeadHead: return layer("shared_head.head.weight");
  }
  return "";
}

}  // namespace

std::string tensor_name(ModelFormat format, Role role, std::int64_t layer, std::int64_t expert) {
  return format == ModelFormat::kGguf ? gguf_name(role, layer) : hf_name(role, layer, expert);
}

std::string fp8_scale_name(const std::string& weight_name) { return weight_name + "_scale_inv"; }

}  // namespace whale
