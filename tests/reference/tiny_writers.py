"""tiny_writers.py — write a tiny model as HF folders (F32, BF16, FP8) and GGUF files."""
import json
import math
import os

import numpy as np

import gguf_io as G
from fp8 import bf16_bits, fp8_block_quantize
from name_map import hf_to_gguf
from safetensors_io import st_bf16_bits, st_e4m3, st_f32, write_safetensors
from tiny_weights import gguf_type, is_fp8_weight, keeps_f32

FP8_QUANT_CONFIG = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                    "weight_block_size": [128, 128]}


def _write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_hf(folder, hf_config, gen_config, w, kind):
    """kind "f32": all F32; "bf16": all BF16 (routing bias F32); "fp8": decoder Linear weights
    F8_E4M3 + F32 weight_scale_inv, routing bias F32, everything else BF16 (the official layout)."""
    os.makedirs(folder, exist_ok=True)
    cfg = dict(hf_config)
    tensors = {}
    for n, a in w.items():
        if kind == "f32" or keeps_f32(n):
            tensors[n] = st_f32(a)
        elif kind == "fp8" and is_fp8_weight(n):
            codes, scale_inv = fp8_block_quantize(a)
            tensors[n] = st_e4m3(codes)
            tensors[n + "_scale_inv"] = st_f32(scale_inv)
        else:
            tensors[n] = st_bf16_bits(bf16_bits(a))
    if kind == "bf16":
        cfg["torch_dtype"] = "bfloat16"
    if kind == "fp8":
        cfg["torch_dtype"] = "bfloat16"
        cfg["quantization_config"] = dict(FP8_QUANT_CONFIG)
    _write_json(os.path.join(folder, "config.json"), cfg)
    _write_json(os.path.join(folder, "generation_config.json"), gen_config)
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors, {"format": "pt"})


_FILE_TYPE = {"f32": 0, "f16": 1, "q8_0": 7}  # llama.cpp's general.file_type codes


def gguf_metadata(name, arch, hf, cfg, ftype, layout):
    """llama.cpp-style metadata for a tiny model. `hf` is the config.json dict, `cfg` canonical."""
    kv = [("general.architecture", G.string(arch)),
          ("general.name", G.string(name)),
          ("general.alignment", G.u32(G.ALIGNMENT)),
          ("general.file_type", G.u32(_FILE_TYPE[ftype]))]

    def a(key, val):
        kv.append((f"{arch}.{key}", val))

    n_mtp = cfg.get("num_nextn_predict_layers") or 0
    a("vocab_size", G.u32(cfg["vocab_size"]))
    a("block_count", G.u32(cfg["num_hidden_layers"] + n_mtp))
    a("context_length", G.u32(hf["max_position_embeddings"]))
    a("embedding_length", G.u32(cfg["hidden_size"]))
    a("feed_forward_length", G.u32(cfg["intermediate_size"]))
    a("attention.head_count", G.u32(cfg["num_attention_heads"]))
    a("attention.layer_norm_rms_epsilon", G.f32(cfg["rms_norm_eps"]))
    a("rope.freq_base", G.f32(cfg["rope_theta"]))
    if arch == "deepseek2":
        H, nope, rope, vd, c = (cfg["num_attention_heads"], cfg["qk_nope_head_dim"],
                                cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"])
        if layout == "split":
            a("attention.head_count_kv", G.u32(1))
            a("attention.key_length", G.u32(c + rope))
            a("attention.value_length", G.u32(c))
            a("attention.key_length_mla", G.u32(nope + rope))
            a("attention.value_length_mla", G.u32(vd))
        else:
            a("attention.head_count_kv", G.u32(H))
            a("attention.key_length", G.u32(nope + rope))
            a("attention.value_length", G.u32(vd))
        a("rope.dimension_count", G.u32(rope))
        if cfg["q_lora_rank"]:
            a("attention.q_lora_rank", G.u32(cfg["q_lora_rank"]))
        a("attention.kv_lora_rank", G.u32(c))
        a("leading_dense_block_count", G.u32(cfg["first_k_dense_replace"]))
        a("expert_feed_forward_length", G.u32(cfg["moe_intermediate_size"]))
        a("expert_count", G.u32(cfg["n_routed_experts"]))
        a("expert_used_count", G.u32(cfg["num_experts_per_tok"]))
        a("expert_shared_count", G.u32(cfg["n_shared_experts"]))
        a("expert_weights_scale", G.f32(cfg["routed_scaling_factor"]))
        a("expert_weights_norm", G.bool_(cfg["norm_topk_prob"]))
        a("expert_gating_func", G.u32(2 if cfg["scoring_func"] == "sigmoid" else 1))
        a("expert_group_count", G.u32(cfg["n_group"]))
        a("expert_group_used_count", G.u32(cfg["topk_group"]))
        rs = cfg.get("rope_scaling")
        if rs and rs.get("type") == "yarn":
            a("rope.scaling.type", G.string("yarn"))
            a("rope.scaling.factor", G.f32(rs["factor"]))
            a("rope.scaling.original_context_length", G.u32(rs["original_max_position_embeddings"]))
            a("rope.scaling.yarn_log_multiplier", G.f32(0.1 * rs["mscale_all_dim"]))
            a("rope.scaling.yarn_beta_fast", G.f32(rs.get("beta_fast", 32)))
            a("rope.scaling.yarn_beta_slow", G.f32(rs.get("beta_slow", 1)))
        if n_mtp:
            a("nextn_predict_layers", G.u32(n_mtp))
    else:
        hd = cfg["head_dim"]
        a("attention.head_count_kv", G.u32(cfg["num_key_value_heads"]))
        a("attention.key_length", G.u32(hd))
        a("attention.value_length", G.u32(hd))
        a("rope.dimension_count", G.u32(hd))
    # A minimal tokenizer: placeholder token strings, ids 0/1 are BOS/EOS.
    V = cfg["vocab_size"]
    bos, eos = hf["bos_token_id"], hf["eos_token_id"]
    tokens = [f"<tok{i}>" for i in range(V)]
    tokens[bos], tokens[eos] = "<|bos|>", "<|eos|>"
    types = [3 if i in (bos, eos) else 1 for i in range(V)]  # 3 = control, 1 = normal
    kv += [("tokenizer.ggml.model", G.string("gpt2")),
           ("tokenizer.ggml.pre", G.string("default")),
           ("tokenizer.ggml.tokens", G.arr(G.T_STR, tokens)),
           ("tokenizer.ggml.token_type", G.arr(G.T_I32, types)),
           ("tokenizer.ggml.merges", G.arr(G.T_STR, [])),
           ("tokenizer.ggml.bos_token_id", G.u32(bos)),
           ("tokenizer.ggml.eos_token_id", G.u32(eos)),
           ("tokenizer.ggml.add_bos_token", G.bool_(True))]
    return kv


def write_gguf_model(path, name, arch, hf, cfg, w, ftype, layout="split"):
    tensors = []
    for gname, a in hf_to_gguf(w, cfg, layout):
        a = np.asarray(a, dtype=np.float32)
        t = gguf_type(gname, a, ftype)
        ne, raw = G.encode_tensor(a, t)
        tensors.append((gname, t, ne, raw))
    G.write_gguf(path, gguf_metadata(name, arch, hf, cfg, ftype, layout), tensors)
