"""tiny_weights.py — random weights for the tiny models, the exact weights each stored variant
decodes to (BF16, FP8, F16/Q8_0 GGUF), and the routing conditioning loop."""
import re

import numpy as np

from fp8 import fp8_block_dequantize, fp8_block_quantize, round_bf16, round_f16
from gguf_io import GGML_F16, GGML_F32, GGML_Q8_0
from name_map import gguf_to_hf, hf_to_gguf
from quants import QK8_0, q8_0_roundtrip
from ref_model import forward, is_moe_layer

ROUTING_MARGIN = 1e-3

# Decoder-layer Linear weights that the official DeepSeek-V3 checkpoint stores as FP8.
_FP8_RE = re.compile(
    r"^model\.layers\.\d+\.(self_attn\.(q_a_proj|q_b_proj|q_proj|kv_a_proj_with_mqa|kv_b_proj|o_proj)"
    r"|mlp\.(gate_proj|up_proj|down_proj)"
    r"|mlp\.(experts\.\d+|shared_experts)\.(gate_proj|up_proj|down_proj))\.weight$")


def is_fp8_weight(name):
    return bool(_FP8_RE.match(name))


def keeps_f32(hf_name):
    """Tensors every stored variant keeps in F32: the routing bias (the official checkpoint
    stores it in F32 too)."""
    return hf_name.endswith("e_score_correction_bias")


def gguf_type(name, a, ftype):
    """ggml type of a GGUF tensor for file type "f32" / "f16" / "q8_0"."""
    if a.ndim < 2 or ftype == "f32" or name.endswith("ffn_gate_inp.weight"):
        return GGML_F32  # norms, biases, rope_freqs, the router (kept exact, as llama.cpp does)
    if ftype == "f16":
        return GGML_F16
    return GGML_Q8_0 if a.shape[-1] % QK8_0 == 0 else GGML_F32


def _normal(rng, shape, std):
    return (rng.standard_normal(shape) * std).astype(np.float32)


def _norm(rng, n):
    return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)


def _lin(rng, rows, cols, gain=1.0):
    return _normal(rng, (rows, cols), gain / np.sqrt(cols))


def init_gate(rng, cfg, w, p):
    E, D = cfg["n_routed_experts"], cfg["hidden_size"]
    # Router logits with std ~1.5 spread the scores so top-k decisions are clear.
    w[p + "mlp.gate.weight"] = _lin(rng, E, D, 1.5)
    if cfg["topk_method"] == "noaux_tc":
        w[p + "mlp.gate.e_score_correction_bias"] = _normal(rng, (E,), 0.1)


def init_weights(cfg, rng):
    """HF-named float32 arrays for a canonical config (MTP layers included)."""
    D, V = cfg["hidden_size"], cfg["vocab_size"]
    w = {"model.embed_tokens.weight": _normal(rng, (V, D), 1.0),
         "model.norm.weight": _norm(rng, D),
         "lm_head.weight": _lin(rng, V, D, 2.5)}
    n_mtp = cfg.get("num_nextn_predict_layers") or 0
    for i in range(cfg["num_hidden_layers"] + n_mtp):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = _norm(rng, D)
        w[p + "post_attention_layernorm.weight"] = _norm(rng, D)
        if cfg["arch"] == "deepseek2":
            H, nope, rope, vd, c = (cfg["num_attention_heads"], cfg["qk_nope_head_dim"],
                                    cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"])
            a = p + "self_attn."
            if cfg["q_lora_rank"]:
                r = cfg["q_lora_rank"]
                w[a + "q_a_proj.weight"] = _lin(rng, r, D)
                w[a + "q_a_layernorm.weight"] = _norm(rng, r)
                w[a + "q_b_proj.weight"] = _lin(rng, H * (nope + rope), r)
            else:
                w[a + "q_proj.weight"] = _lin(rng, H * (nope + rope), D)
            w[a + "kv_a_proj_with_mqa.weight"] = _lin(rng, c + rope, D)
            w[a + "kv_a_layernorm.weight"] = _norm(rng, c)
            w[a + "kv_b_proj.weight"] = _lin(rng, H * (nope + vd), c)
            w[a + "o_proj.weight"] = _lin(rng, D, H * vd, 0.7)
            if is_moe_layer(cfg, i):
                init_gate(rng, cfg, w, p)
                F, E = cfg["moe_intermediate_size"], cfg["n_routed_experts"]
                for e in range(E):
                    q = f"{p}mlp.experts.{e}."
                    w[q + "gate_proj.weight"] = _lin(rng, F, D)
                    w[q + "up_proj.weight"] = _lin(rng, F, D)
                    w[q + "down_proj.weight"] = _lin(rng, D, F, 0.7)
                Fs = F * cfg["n_shared_experts"]
                if Fs:
                    q = p + "mlp.shared_experts."
                    w[q + "gate_proj.weight"] = _lin(rng, Fs, D)
                    w[q + "up_proj.weight"] = _lin(rng, Fs, D)
                    w[q + "down_proj.weight"] = _lin(rng, D, Fs, 0.7)
            else:
                F = cfg["intermediate_size"]
                w[p + "mlp.gate_proj.weight"] = _lin(rng, F, D)
                w[p + "mlp.up_proj.weight"] = _lin(rng, F, D)
                w[p + "mlp.down_proj.weight"] = _lin(rng, D, F, 0.7)
            if i >= cfg["num_hidden_layers"]:  # MTP module extras
                w[p + "embed_tokens.weight"] = _normal(rng, (V, D), 1.0)
                w[p + "enorm.weight"] = _norm(rng, D)
                w[p + "hnorm.weight"] = _norm(rng, D)
                w[p + "eh_proj.weight"] = _lin(rng, D, 2 * D)
                w[p + "shared_head.norm.weight"] = _norm(rng, D)
                w[p + "shared_head.head.weight"] = _lin(rng, V, D, 2.5)
        else:
            H, Hkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
            a = p + "self_attn."
            w[a + "q_proj.weight"] = _lin(rng, H * hd, D)
            w[a + "k_proj.weight"] = _lin(rng, Hkv * hd, D)
            w[a + "v_proj.weight"] = _lin(rng, Hkv * hd, D)
            w[a + "o_proj.weight"] = _lin(rng, D, H * hd, 0.7)
            if cfg["arch"] == "qwen2":
                w[a + "q_proj.bias"] = _normal(rng, (H * hd,), 0.3)
                w[a + "k_proj.bias"] = _normal(rng, (Hkv * hd,), 0.3)
                w[a + "v_proj.bias"] = _normal(rng, (Hkv * hd,), 0.3)
            F = cfg["intermediate_size"]
            w[p + "mlp.gate_proj.weight"] = _lin(rng, F, D)
            w[p + "mlp.up_proj.weight"] = _lin(rng, F, D)
            w[p + "mlp.down_proj.weight"] = _lin(rng, D, F, 0.7)
    return w


def llama3_freq_divisors(cfg):
    """The per-frequency divisors llama.cpp stores as rope_freqs.weight (F32)."""
    from ref_model import llama3_inv_freq
    hd, base = cfg["head_dim"], float(cfg["rope_theta"])
    plain = 1.0 / base ** (np.arange(0, hd, 2, dtype=np.float64) / hd)
    return (plain / llama3_inv_freq(hd, base, cfg["rope_scaling"])).astype(np.float32)


# ----------------------------------------------------------------------------- stored variants


def hf_variant(w, kind):
    """Float64 weights as the hf/ ("f32"), hf-bf16/ ("bf16") or hf-fp8/ ("fp8") folder stores them."""
    out = {}
    for n, a in w.items():
        if kind == "f32" or keeps_f32(n):
            out[n] = a.astype(np.float64)
        elif kind == "fp8" and is_fp8_weight(n):
            out[n] = fp8_block_dequantize(*fp8_block_quantize(a))
        else:
            out[n] = round_bf16(a).astype(np.float64)
    return out


def gguf_decoded(a, t):
    if t == GGML_F32:
        return np.asarray(a, dtype=np.float32).astype(np.float64)
    if t == GGML_F16:
        return round_f16(a).astype(np.float64)
    return q8_0_roundtrip(a).astype(np.float64)


def gguf_variant(w, cfg, ftype, layout="split"):
    """Float64 weights as a GGUF of this file type and kv layout decodes them (HF names)."""
    dec = {}
    for name, a in hf_to_gguf(w, cfg, layout):
        dec[name] = gguf_decoded(a, gguf_type(name, np.asarray(a), ftype))
    return gguf_to_hf(dec, cfg)


def routing_variants(w, cfg):
    """Every stored variant's decoded weights (the routing must be well-conditioned in each)."""
    vs = {"f32": hf_variant(w, "f32"), "bf16": hf_variant(w, "bf16"),
          "gguf-f16": gguf_variant(w, cfg, "f16"), "gguf-q8_0": gguf_variant(w, cfg, "q8_0")}
    if cfg["arch"] == "deepseek2":
        vs["fp8"] = hf_variant(w, "fp8")
    return vs


def condition_routing(w, cfg, tokens, rng, max_tries=200):
    """Redraw each MoE layer's router (and bias) until every routing decision on `tokens`, in
    every stored variant, is won by more than ROUTING_MARGIN. Layers are fixed in order because a
    layer's router input depends only on earlier layers. Returns {layer: min margin}."""
    moe_layers = [i for i in range(cfg["num_hidden_layers"]) if is_moe_layer(cfg, i)]
    result = {}
    for layer in moe_layers:
        for _ in range(max_tries):
            worst = np.inf
            for v in routing_variants(w, cfg).values():
                trace = {}
                forward(cfg, v, tokens, trace=trace)
                worst = min(worst, float(trace[layer][2].min()))
            if worst > ROUTING_MARGIN:
                break
            init_gate(rng, cfg, w, f"model.layers.{layer}.")
        else:
            raise RuntimeError(f"layer {layer}: could not condition routing (margin {worst})")
        result[layer] = worst
    return result
