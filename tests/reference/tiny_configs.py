"""tiny_configs.py — the Hugging Face config.json contents of the tiny test models.

Dimensions are deliberately not multiples of 128 (FP8 blocks are partial) and mostly not powers
of two, while keeping GGUF row lengths multiples of 32 where Q8_0 should apply. One deliberate
exception: deepseek-v2-lite-tiny's o_proj rows (5 heads x 24 = 120) are not a multiple of 32, so
its Q8_0 GGUF keeps attn_output in F32 (a mixed-type file).
"""

_TRANSFORMERS = "4.46.3"


def _deepseek_common():
    return {
        "vocab_size": 320,
        "hidden_size": 160,
        "intermediate_size": 224,
        "moe_intermediate_size": 64,
        "num_hidden_layers": 3,
        "kv_lora_rank": 64,
        "qk_nope_head_dim": 32,
        "qk_rope_head_dim": 16,
        "v_head_dim": 24,
        "first_k_dense_replace": 1,
        "moe_layer_freq": 1,
        "hidden_act": "silu",
        "max_position_embeddings": 64,
        "initializer_range": 0.02,
        "rms_norm_eps": 1e-06,
        "use_cache": True,
        "pad_token_id": None,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "pretraining_tp": 1,
        "tie_word_embeddings": False,
        "rope_theta": 10000,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "aux_loss_alpha": 0.001,
        "seq_aux": True,
        "ep_size": 1,
        "torch_dtype": "float32",
        "transformers_version": _TRANSFORMERS,
    }


def _auto_map(v):
    return {"AutoConfig": f"configuration_deepseek.DeepseekV{v}Config",
            "AutoModel": f"modeling_deepseek.DeepseekV{v}Model",
            "AutoModelForCausalLM": f"modeling_deepseek.DeepseekV{v}ForCausalLM"}


def deepseek_v3_tiny():
    c = _deepseek_common()
    c.update({
        "architectures": ["DeepseekV3ForCausalLM"],
        "auto_map": _auto_map(3),
        "model_type": "deepseek_v3",
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "q_lora_rank": 96,
        "n_routed_experts": 16,
        "n_shared_experts": 1,
        "num_experts_per_tok": 3,
        "n_group": 4,
        "topk_group": 2,
        "topk_method": "noaux_tc",
        "scoring_func": "sigmoid",
        "norm_topk_prob": True,
        "routed_scaling_factor": 2.5,
        "num_nextn_predict_layers": 1,
        "rope_scaling": {"type": "yarn", "factor": 4, "original_max_position_embeddings": 16,
                         "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
    })
    return c


def deepseek_v2_lite_tiny():
    c = _deepseek_common()
    c.update({
        "architectures": ["DeepseekV2ForCausalLM"],
        "auto_map": _auto_map(2),
        "model_type": "deepseek_v2",
        "num_attention_heads": 5,
        "num_key_value_heads": 5,
        "q_lora_rank": None,
        "n_routed_experts": 8,
        "n_shared_experts": 2,
        "num_experts_per_tok": 2,
        "n_group": 1,
        "topk_group": 1,
        "topk_method": "greedy",
        "scoring_func": "softmax",
        "norm_topk_prob": False,
        "routed_scaling_factor": 1.0,
        "rope_scaling": {"type": "yarn", "factor": 4, "original_max_position_embeddings": 16,
                         "beta_fast": 32, "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707},
    })
    return c


def deepseek_v2_group_tiny():
    c = deepseek_v2_lite_tiny()
    c.update({
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "q_lora_rank": 96,
        "n_group": 4,
        "topk_group": 2,
        "topk_method": "group_limited_greedy",
        "routed_scaling_factor": 1.5,
    })
    return c


def qwen2_tiny():
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "vocab_size": 300,
        "hidden_size": 192,
        "intermediate_size": 224,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "hidden_act": "silu",
        "max_position_embeddings": 128,
        "max_window_layers": 2,
        "use_sliding_window": False,
        "sliding_window": 128,
        "initializer_range": 0.02,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "attention_dropout": 0.0,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "tie_word_embeddings": False,
        "use_cache": True,
        "torch_dtype": "float32",
        "transformers_version": _TRANSFORMERS,
    }


def llama3_tiny():
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": 288,
        "hidden_size": 192,
        "intermediate_size": 288,
        "num_hidden_layers": 2,
        "num_attention_heads": 6,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "hidden_act": "silu",
        "max_position_embeddings": 128,
        "initializer_range": 0.02,
        "rms_norm_eps": 1e-05,
        "rope_theta": 500000.0,
        # original_max_position_embeddings 32 (not 16) so that the first frequency (wavelength
        # 2*pi) falls below original/high_freq_factor = 8 and all three llama3 regimes occur.
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "tie_word_embeddings": False,
        "use_cache": True,
        "torch_dtype": "float32",
        "transformers_version": _TRANSFORMERS,
    }


def deepseek_v3_k256_tiny():
    """A V3-shaped model (MLA with q_lora, sigmoid + bias routing in groups, shared expert, 3-D
    expert tensors) whose every matrix row is 256 wide, the K-quant super-block, so `whale
    quantize` really uses Q2_K..Q6_K and IQ4_XS on it. As small as that allows: one dense and
    one MoE layer, no MTP layer, 8 routed experts."""
    c = deepseek_v3_tiny()
    c.update({
        "hidden_size": 256,               # token_embd, q_a, kv_a_mqa, gate/up, output rows
        "intermediate_size": 256,         # dense ffn_down rows
        "moe_intermediate_size": 256,     # ffn_down_exps / ffn_down_shexp rows
        "num_hidden_layers": 2,
        "q_lora_rank": 256,               # attn_q_b rows
        "kv_lora_rank": 256,              # attn_kv_b rows
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "v_head_dim": 64,                 # attn_output rows: 4 heads x 64
        "n_routed_experts": 8,
        "num_experts_per_tok": 2,
        "n_group": 4,
        "topk_group": 2,
        "num_nextn_predict_layers": 0,
    })
    return c


# name -> (config factory, GGUF architecture)
MODELS = {
    "deepseek-v3-tiny": (deepseek_v3_tiny, "deepseek2"),
    "deepseek-v2-lite-tiny": (deepseek_v2_lite_tiny, "deepseek2"),
    "deepseek-v2-group-tiny": (deepseek_v2_group_tiny, "deepseek2"),
    "qwen2-tiny": (qwen2_tiny, "qwen2"),
    "llama3-tiny": (llama3_tiny, "llama"),
}

# Models written only as an F32 GGUF with its reference logits (no HF folders, no other stored
# forms): they exist for `whale quantize` tests and would only add CI time to the rest.
QUANT_ONLY_MODELS = {
    "deepseek-v3-k256-tiny": (deepseek_v3_k256_tiny, "deepseek2"),
}


def generation_config(c):
    return {"bos_token_id": c["bos_token_id"], "eos_token_id": c["eos_token_id"], "do_sample": True,
            "temperature": 0.6, "top_p": 0.95, "transformers_version": _TRANSFORMERS}
