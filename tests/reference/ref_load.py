"""ref_load.py — load a model for the reference: an HF folder (F32/BF16/FP8 safetensors) or a
GGUF file (F32/F16/Q8_0), into (canonical config dict, HF-named float64 weights)."""
import glob
import json
import os

import numpy as np

from fp8 import fp8_block_dequantize
from gguf_io import read_gguf
from name_map import gguf_to_hf
from safetensors_io import read_safetensors


def config_from_hf(j):
    """HF config.json dict -> canonical config."""
    mt = j["model_type"]
    if mt in ("deepseek_v2", "deepseek_v3"):
        arch = "deepseek2"
    elif mt in ("qwen2", "llama"):
        arch = mt
    else:
        raise ValueError(f"model_type {mt} not supported")
    heads = j["num_attention_heads"]
    c = {
        "arch": arch,
        "vocab_size": j["vocab_size"],
        "hidden_size": j["hidden_size"],
        "num_hidden_layers": j["num_hidden_layers"],
        "num_attention_heads": heads,
        "num_key_value_heads": j.get("num_key_value_heads") or heads,
        "head_dim": j.get("head_dim") or j["hidden_size"] // heads,
        "intermediate_size": j["intermediate_size"],
        "rms_norm_eps": float(j["rms_norm_eps"]),
        "rope_theta": float(j.get("rope_theta", 10000.0)),
        "rope_scaling": j.get("rope_scaling"),
        "tie_word_embeddings": bool(j.get("tie_word_embeddings", False)),
    }
    if arch == "deepseek2":
        v3 = mt == "deepseek_v3"
        c.update({
            "q_lora_rank": j.get("q_lora_rank") or 0,
            "kv_lora_rank": j["kv_lora_rank"],
            "qk_nope_head_dim": j["qk_nope_head_dim"],
            "qk_rope_head_dim": j["qk_rope_head_dim"],
            "v_head_dim": j["v_head_dim"],
            "n_routed_experts": j.get("n_routed_experts") or 0,
            "n_shared_experts": j.get("n_shared_experts") or 0,
            "num_experts_per_tok": j.get("num_experts_per_tok") or 0,
            "moe_intermediate_size": j.get("moe_intermediate_size"),
            "first_k_dense_replace": j.get("first_k_dense_replace", 0),
            "moe_layer_freq": j.get("moe_layer_freq", 1),
            "n_group": j.get("n_group") or 1,
            "topk_group": j.get("topk_group") or 1,
            "scoring_func": j.get("scoring_func", "sigmoid" if v3 else "softmax"),
            "topk_method": j.get("topk_method", "noaux_tc" if v3 else "greedy"),
            "norm_topk_prob": bool(j.get("norm_topk_prob", False)),
            "routed_scaling_factor": float(j.get("routed_scaling_factor", 1.0)),
            "num_nextn_predict_layers": j.get("num_nextn_predict_layers", 0),
        })
        if c["topk_method"] == "gready":  # spelling found in some DeepSeek-V2 configs
            c["topk_method"] = "greedy"
    return c


def config_from_gguf(meta, tensors):
    """GGUF metadata -> canonical config (following llama.cpp's key names)."""
    arch = meta["general.architecture"]

    def k(suffix, default=None):
        return meta.get(f"{arch}.{suffix}", default)

    heads = k("attention.head_count")
    c = {
        "arch": arch,
        "vocab_size": k("vocab_size", len(meta.get("tokenizer.ggml.tokens", []))),
        "hidden_size": k("embedding_length"),
        "num_hidden_layers": k("block_count"),
        "num_attention_heads": heads,
        "num_key_value_heads": k("attention.head_count_kv", heads),
        "intermediate_size": k("feed_forward_length", 0),
        "rms_norm_eps": float(k("attention.layer_norm_rms_epsilon")),
        "rope_theta": float(k("rope.freq_base", 10000.0)),
        "rope_scaling": None,
        "tie_word_embeddings": "output.weight" not in tensors,
    }
    if arch == "deepseek2":
        rope = k("rope.dimension_count")
        if k("attention.key_length_mla") is not None:  # layout (c)
            nope, vd = k("attention.key_length_mla") - rope, k("attention.value_length_mla")
        else:
            nope, vd = k("attention.key_length") - rope, k("attention.value_length")
        gating = k("expert_gating_func", 1)
        scoring = {1: "softmax", 2: "sigmoid"}[gating]
        n_group = k("expert_group_count", 1)
        if scoring == "sigmoid":
            method = "noaux_tc"
        elif n_group > 1:
            method = "group_limited_greedy"
        else:
            method = "greedy"
        mtp = k("nextn_predict_layers", 0)
        c.update({
            "num_hidden_layers": c["num_hidden_layers"] - mtp,
            "num_key_value_heads": heads,
            "q_lora_rank": k("attention.q_lora_rank", 0),
            "kv_lora_rank": k("attention.kv_lora_rank"),
            "qk_nope_head_dim": nope,
            "qk_rope_head_dim": rope,
            "v_head_dim": vd,
            "n_routed_experts": k("expert_count", 0),
            "n_shared_experts": k("expert_shared_count", 0),
            "num_experts_per_tok": k("expert_used_count", 0),
            "moe_intermediate_size": k("expert_feed_forward_length"),
            "first_k_dense_replace": k("leading_dense_block_count", 0),
            "moe_layer_freq": 1,
            "n_group": n_group,
            "topk_group": k("expert_group_used_count", n_group),
            "scoring_func": scoring,
            "topk_method": method,
            "norm_topk_prob": bool(k("expert_weights_norm", scoring == "sigmoid")),
            "routed_scaling_factor": float(k("expert_weights_scale", 1.0)),
            "num_nextn_predict_layers": mtp,
        })
        if k("rope.scaling.type") == "yarn":
            m_all = float(k("rope.scaling.yarn_log_multiplier", 0.0)) / 0.1
            c["rope_scaling"] = {
                "type": "yarn",
                "factor": float(k("rope.scaling.factor")),
                "original_max_position_embeddings": k("rope.scaling.original_context_length"),
                "beta_fast": float(k("rope.scaling.yarn_beta_fast", 32.0)),
                "beta_slow": float(k("rope.scaling.yarn_beta_slow", 1.0)),
                "mscale": m_all,
                "mscale_all_dim": m_all,
            }
    else:
        c["head_dim"] = k("attention.key_length", c["hidden_size"] // heads)
        if k("rope.scaling.type") == "linear":
            c["rope_scaling"] = {"type": "linear", "factor": float(k("rope.scaling.factor"))}
        if "rope_freqs.weight" in tensors:
            c["rope_freq_divisors"] = tensors["rope_freqs.weight"].astype(np.float64)
    return c


def load_hf_folder(path):
    with open(os.path.join(path, "config.json")) as f:
        cfg = config_from_hf(json.load(f))
    raw = {}
    for fn in sorted(glob.glob(os.path.join(path, "*.safetensors"))):
        raw.update(read_safetensors(fn))
    w = {}
    for name, (dt, a) in raw.items():
        if name.endswith("_scale_inv"):
            continue
        if dt == "F8_E4M3":
            w[name] = fp8_block_dequantize(a, raw[name + "_scale_inv"][1])
        else:
            w[name] = a
    return cfg, w


def load_gguf(path):
    meta, tensors, _ = read_gguf(path)
    cfg = config_from_gguf(meta, tensors)
    return cfg, gguf_to_hf(tensors, cfg)


def load_model(path):
    """-> (cfg, weights) from an HF folder or a .gguf file."""
    if os.path.isdir(path):
        return load_hf_folder(path)
    return load_gguf(path)
