"""name_map.py — Hugging Face <-> llama.cpp GGUF tensor names and layouts.

Canonical names are the Hugging Face ones. GGUF specifics handled here:
- DeepSeek routed experts are merged into 3-D blk.N.ffn_{gate,up,down}_exps.weight.
- DeepSeek MLA kv_b_proj is stored in one of three layouts:
  (a) "kvb":    blk.N.attn_kv_b.weight only (= HF kv_b_proj);
  (b) "kvb-2d": attn_kv_b plus 2-D attn_k_b [H*kv_lora, nope] and attn_v_b [H*v, kv_lora];
  (c) "split":  no attn_kv_b; 3-D attn_k_b [H, kv_lora, nope] (per head W_UK transposed) and
                attn_v_b [H, v, kv_lora] (per head W_UV).
  (shapes in torch order, outermost first).
- The MTP block (index num_hidden_layers) adds blk.L.nextn.* tensors.
- llama.cpp's "llama" arch rotates interleaved pairs, so q_proj/k_proj rows are permuted per
  head: reshape(n_head, 2, hd/2, cols).swapaxes(1, 2); this module applies and undoes it.
"""
import re

import numpy as np

_GLOBAL = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}

_LAYER = {
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_a_proj.weight": "attn_q_a.weight",
    "self_attn.q_a_layernorm.weight": "attn_q_a_norm.weight",
    "self_attn.q_b_proj.weight": "attn_q_b.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.kv_a_proj_with_mqa.weight": "attn_kv_a_mqa.weight",
    "self_attn.kv_a_layernorm.weight": "attn_kv_a_norm.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "mlp.shared_experts.gate_proj.weight": "ffn_gate_shexp.weight",
    "mlp.shared_experts.up_proj.weight": "ffn_up_shexp.weight",
    "mlp.shared_experts.down_proj.weight": "ffn_down_shexp.weight",
    "mlp.gate.weight": "ffn_gate_inp.weight",
    "mlp.gate.e_score_correction_bias": "exp_probs_b.bias",
    # MTP (DeepSeek-V3 next-token-prediction module).
    "embed_tokens.weight": "nextn.embed_tokens.weight",
    "enorm.weight": "nextn.enorm.weight",
    "hnorm.weight": "nextn.hnorm.weight",
    "eh_proj.weight": "nextn.eh_proj.weight",
    "shared_head.norm.weight": "nextn.shared_head_norm.weight",
    "shared_head.head.weight": "nextn.shared_head_head.weight",
}
_LAYER_REV = {v: k for k, v in _LAYER.items()}
_GLOBAL_REV = {v: k for k, v in _GLOBAL.items()}
_EXPERT_RE = re.compile(r"^model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight$")
_LAYER_RE = re.compile(r"^model\.layers\.(\d+)\.(.+)$")
_BLK_RE = re.compile(r"^blk\.(\d+)\.(.+)$")

KV_LAYOUTS = ("split", "kvb", "kvb-2d")


def llama_permute(w, n_head):
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama_unpermute(w, n_head):
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_to_gguf(weights, cfg, kv_layout="split"):
    """HF-named arrays -> list of (gguf name, array in torch order). Order: globals, then blocks."""
    out = []
    for hf, gg in _GLOBAL.items():
        if hf in weights:
            out.append((gg, weights[hf]))
    if cfg["arch"] == "llama" and cfg.get("rope_freq_divisors") is not None:
        out.append(("rope_freqs.weight", cfg["rope_freq_divisors"]))
    n_blocks = cfg["num_hidden_layers"] + (cfg.get("num_nextn_predict_layers") or 0)
    for i in range(n_blocks):
        p = f"model.layers.{i}."
        experts = {}
        for name in sorted(n for n in weights if n.startswith(p)):
            rest = name[len(p):]
            m = _EXPERT_RE.match(name)
            if m:
                experts.setdefault(m.group(3), {})[int(m.group(2))] = weights[name]
                continue
            a = weights[name]
            if rest == "self_attn.kv_b_proj.weight":
                H, nope, vd, c = (cfg["num_attention_heads"], cfg["qk_nope_head_dim"],
                                  cfg["v_head_dim"], cfg["kv_lora_rank"])
                per_head = a.reshape(H, nope + vd, c)
                k_b = per_head[:, :nope, :].transpose(0, 2, 1)  # [H, c, nope]
                v_b = per_head[:, nope:, :]  # [H, vd, c]
                if kv_layout in ("kvb", "kvb-2d"):
                    out.append((f"blk.{i}.attn_kv_b.weight", a))
                if kv_layout == "kvb-2d":
                    out.append((f"blk.{i}.attn_k_b.weight", k_b.reshape(H * c, nope)))
                    out.append((f"blk.{i}.attn_v_b.weight", v_b.reshape(H * vd, c)))
                if kv_layout == "split":
                    out.append((f"blk.{i}.attn_k_b.weight", np.ascontiguousarray(k_b)))
                    out.append((f"blk.{i}.attn_v_b.weight", v_b))
                continue
            if cfg["arch"] == "llama" and rest == "self_attn.q_proj.weight":
                a = llama_permute(a, cfg["num_attention_heads"])
            if cfg["arch"] == "llama" and rest == "self_attn.k_proj.weight":
                a = llama_permute(a, cfg["num_key_value_heads"])
            if rest not in _LAYER:
                raise KeyError(f"no GGUF name for {name}")
            out.append((f"blk.{i}.{_LAYER[rest]}", a))
        for kind in ("gate", "up", "down"):
            if kind in experts:
                e = experts[kind]
                out.append((f"blk.{i}.ffn_{kind}_exps.weight", np.stack([e[j] for j in sorted(e)])))
    return out


def gguf_to_hf(tensors, cfg):
    """GGUF name -> array dict (torch order) -> HF-named dict; rebuilds kv_b for layout (c)."""
    w = {}
    kb, vb = {}, {}
    for name, a in tensors.items():
        if name in _GLOBAL_REV:
            w[_GLOBAL_REV[name]] = a
            continue
        if name == "rope_freqs.weight":
            continue
        m = _BLK_RE.match(name)
        if not m:
            raise KeyError(f"unexpected GGUF tensor {name}")
        i, rest = int(m.group(1)), m.group(2)
        p = f"model.layers.{i}."
        em = re.match(r"^ffn_(gate|up|down)_exps\.weight$", rest)
        if em:
            for j in range(a.shape[0]):
                w[f"{p}mlp.experts.{j}.{em.group(1)}_proj.weight"] = a[j]
        elif rest == "attn_kv_b.weight":
            w[p + "self_attn.kv_b_proj.weight"] = a
        elif rest == "attn_k_b.weight":
            kb[i] = a
        elif rest == "attn_v_b.weight":
            vb[i] = a
        elif rest in _LAYER_REV:
            hf = _LAYER_REV[rest]
            if cfg["arch"] == "llama" and hf == "self_attn.q_proj.weight":
                a = llama_unpermute(a, cfg["num_attention_heads"])
            if cfg["arch"] == "llama" and hf == "self_attn.k_proj.weight":
                a = llama_unpermute(a, cfg["num_key_value_heads"])
            w[p + hf] = a
        else:
            raise KeyError(f"unexpected GGUF tensor {name}")
    for i in kb:
        key = f"model.layers.{i}.self_attn.kv_b_proj.weight"
        H, nope, vd, c = (cfg["num_attention_heads"], cfg["qk_nope_head_dim"],
                          cfg["v_head_dim"], cfg["kv_lora_rank"])
        k_b = kb[i].reshape(H, c, nope)
        v_b = vb[i].reshape(H, vd, c)
        rebuilt = np.concatenate([k_b.transpose(0, 2, 1), v_b], axis=1).reshape(H * (nope + vd), c)
        if key in w:
            # Layout (b): the 2-D copies must agree with attn_kv_b (up to their own quantisation).
            if kb[i].ndim == 2 and not np.allclose(rebuilt, w[key], rtol=0, atol=1e-2):
                raise ValueError(f"blk.{i}: attn_k_b/attn_v_b disagree with attn_kv_b")
        else:
            w[key] = rebuilt
    return w
