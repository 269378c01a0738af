"""export.py — step 4: the trained model as a Hugging Face folder and a GGUF, plus the files the
engine checks read.

  /usr/bin/python3 export.py RUN_DIR OUT_DIR [CHECKPOINT]   (OUT_DIR = models/whale-r1-tiny,
                                                            CHECKPOINT grpo.pt by default)

Writes, with the project's own writers (tests/reference/tiny_writers.py, name_map.py):
  OUT_DIR/hf/{config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
              generation_config.json}                       all F32
  OUT_DIR/whale-r1-tiny.gguf                                F32, tokenizer + chat template inside
  OUT_DIR/check/reference.json, logits_N.npy                token ids and float64-computed logits
                                                            of the PyTorch model for a few texts
  OUT_DIR/check/heldout.jsonl, accuracy.json                the CI accuracy set (held out, from
                                                            eval.jsonl) and PyTorch's greedy
                                                            accuracy on it per task
"""
import json
import os
import shutil
import sys

import numpy as np
import torch

import bpe
import tasks
from common import (CHAT_TEMPLATE_FILE, deterministic, evaluate, generate, load_model, load_tokenizer,
                    prompt_text, write_json)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "reference"))
import gguf_io as G  # noqa: E402
from name_map import hf_to_gguf  # noqa: E402
from ref_load import config_from_hf  # noqa: E402
from tiny_weights import gguf_type  # noqa: E402
from tiny_writers import gguf_metadata, write_hf  # noqa: E402

NAME = "whale-r1-tiny"
CHECKPOINT = "grpo.pt"
# The CI accuracy set: every 3-digit addition and 2x2-digit multiplication of eval.jsonl, and
# the first CI_OTHER problems of every other task and level.
CI_FULL = {("add", 2), ("mul", 2)}
CI_OTHER = 25
# Texts whose logits the engine must reproduce: prompts as the template renders them, with a
# worked reply so that every kind of token appears.
CHECK_QUESTIONS = ["What is 387 + 456?", "What is 23 * 47?", "Use 3, 7 and 25 to make 46."]


def hf_config(c, bos, eos):
    return {
        "architectures": ["DeepseekV3ForCausalLM"],
        "model_type": "deepseek_v3",
        "vocab_size": c["vocab_size"],
        "hidden_size": c["hidden_size"],
        "intermediate_size": c["intermediate_size"],
        "moe_intermediate_size": c["moe_intermediate_size"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_nextn_predict_layers": c["num_nextn_predict_layers"],
        "num_attention_heads": c["num_attention_heads"],
        "num_key_value_heads": c["num_attention_heads"],
        "n_shared_experts": c["n_shared_experts"],
        "n_routed_experts": c["n_routed_experts"],
        "ep_size": 1,
        "routed_scaling_factor": c["routed_scaling_factor"],
        "kv_lora_rank": c["kv_lora_rank"],
        "q_lora_rank": c["q_lora_rank"],
        "qk_rope_head_dim": c["qk_rope_head_dim"],
        "v_head_dim": c["v_head_dim"],
        "qk_nope_head_dim": c["qk_nope_head_dim"],
        "topk_method": "noaux_tc",
        "n_group": c["n_group"],
        "topk_group": c["topk_group"],
        "num_experts_per_tok": c["num_experts_per_tok"],
        "moe_layer_freq": 1,
        "first_k_dense_replace": c["first_k_dense_replace"],
        "norm_topk_prob": True,
        "scoring_func": "sigmoid",
        "hidden_act": "silu",
        "max_position_embeddings": c["max_position_embeddings"],
        "initializer_range": 0.02,
        "rms_norm_eps": c["rms_norm_eps"],
        "use_cache": True,
        "pad_token_id": None,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "tie_word_embeddings": False,
        "rope_theta": c["rope_theta"],
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "torch_dtype": "float32",
        "transformers_version": "4.46.3",
    }


def tokenizer_config(template):
    return {"add_bos_token": True, "add_eos_token": False,
            "bos_token": {"__type": "AddedToken", "content": bpe.BOS, "lstrip": False,
                          "normalized": True, "rstrip": False, "single_word": False},
            "eos_token": {"__type": "AddedToken", "content": bpe.EOS, "lstrip": False,
                          "normalized": True, "rstrip": False, "single_word": False},
            "pad_token": None, "unk_token": None, "clean_up_tokenization_spaces": False,
            "legacy": True, "model_max_length": 512, "sp_model_kwargs": {},
            "tokenizer_class": "LlamaTokenizerFast", "chat_template": template}


def gguf_tokenizer(tok, template):
    tokens = tok.shipped_tokens()
    types = [3 if t in bpe.CONTROL else 4 if t in bpe.SPECIALS else 1 for t in tokens]
    return [("tokenizer.ggml.model", G.string("gpt2")),
            ("tokenizer.ggml.pre", G.string("deepseek-v3")),
            ("tokenizer.ggml.tokens", G.arr(G.T_STR, tokens)),
            ("tokenizer.ggml.token_type", G.arr(G.T_I32, types)),
            ("tokenizer.ggml.merges", G.arr(G.T_STR, [f"{a} {b}" for a, b in tok.merges])),
            ("tokenizer.ggml.bos_token_id", G.u32(tok.ship(tok.id[bpe.BOS]))),
            ("tokenizer.ggml.eos_token_id", G.u32(tok.ship(tok.id[bpe.EOS]))),
            ("tokenizer.ggml.add_bos_token", G.bool_(True)),
            ("tokenizer.chat_template", G.string(template))]


def write_gguf(path, hf, w, tok, template):
    cfg = config_from_hf(hf)
    kv = [e for e in gguf_metadata(NAME, "deepseek2", hf, cfg, "f32", "split")
          if not e[0].startswith("tokenizer.")]
    tensors = []
    for gname, a in hf_to_gguf(w, cfg, "split"):
        a = np.asarray(a, dtype=np.float32)
        t = gguf_type(gname, a, "f32")
        ne, raw = G.encode_tensor(a, t)
        tensors.append((gname, t, ne, raw))
    G.write_gguf(path, kv + gguf_tokenizer(tok, template), tensors)


def write_checks(check, model, tok, eval_path):
    os.makedirs(check, exist_ok=True)
    ref = {"texts": []}
    m64 = load_model_double(model)
    for i, q in enumerate(CHECK_QUESTIONS):
        prompt = tok.encode(prompt_text(q))
        reply = generate(model, tok, [prompt], 320)[0]  # a 2x2-digit product takes ~170
        ids = prompt + reply
        with torch.no_grad():
            logits = m64(torch.tensor([ids]))[0].numpy()
        logits = logits[:, training_ids(tok)]  # columns in shipped id order
        np.save(os.path.join(check, f"logits_{i}.npy"), logits.astype(np.float32))
        ref["texts"].append({"question": q, "text": tok.decode(ids),
                             "tokens": [tok.ship(t) for t in ids],
                             "logits": f"logits_{i}.npy"})
    with open(eval_path) as f:
        problems = [json.loads(l) for l in f]
    counts, chosen = {}, []
    for p in problems:
        key = (p["task"], p["level"])
        counts[key] = counts.get(key, 0) + 1
        if key in CI_FULL or counts[key] <= CI_OTHER:
            chosen.append(p)
    with open(os.path.join(check, "heldout.jsonl"), "w") as f:
        for p in chosen:
            f.write(json.dumps({k: p[k] for k in ("task", "level", "question", "answer",
                                                    "numbers", "target") if k in p}) + "\n")
    table, _ = evaluate(model, tok, chosen[:int(os.environ.get("EXPORT_EVAL_LIMIT", len(chosen)))])
    write_json(os.path.join(check, "accuracy.json"), table)
    write_json(os.path.join(check, "reference.json"), ref)
    return table


def training_ids(tok):
    """training id of each shipped id."""
    inv = [0] * len(tok.tokens)
    for t in range(len(tok.tokens)):
        inv[tok.ship(t)] = t
    return inv


def shipped_weights(model, tok):
    """HF-named arrays with vocabulary rows (embeddings, output heads) in shipped id order."""
    w = model.hf_state()
    order = training_ids(tok)
    V = len(order)
    for name in w:
        if name.endswith(("embed_tokens.weight", "lm_head.weight", "shared_head.head.weight")):
            assert w[name].shape[0] == V, name
            w[name] = np.ascontiguousarray(w[name][order])
    return w


def load_model_double(model):
    import copy
    m = copy.deepcopy(model).double()
    m.eval()
    return m


def main():
    run, out = sys.argv[1], sys.argv[2]
    deterministic(0)
    tok = load_tokenizer(run)
    model = load_model(run, sys.argv[3] if len(sys.argv) > 3 else CHECKPOINT, tok)
    with open(CHAT_TEMPLATE_FILE) as f:
        template = f.read()
    bos, eos = tok.ship(tok.id[bpe.BOS]), tok.ship(tok.id[bpe.EOS])
    hf = hf_config(model.c, bos, eos)
    w = shipped_weights(model, tok)
    hf_dir = os.path.join(out, "hf")
    if os.path.isdir(hf_dir):
        shutil.rmtree(hf_dir)
    gen = {"bos_token_id": bos, "eos_token_id": eos, "do_sample": True, "temperature": 0.6,
           "top_p": 0.95, "transformers_version": "4.46.3"}
    write_hf(hf_dir, hf, gen, w, "f32")
    with open(os.path.join(hf_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok.tokenizer_json(), f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(hf_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config(template), f, ensure_ascii=False, indent=1)
        f.write("\n")
    write_gguf(os.path.join(out, f"{NAME}.gguf"), hf, w, tok, template)
    table = write_checks(os.path.join(out, "check"), model, tok, os.path.join(run, "eval.jsonl"))
    print("export: " + ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in table.items()), flush=True)


if __name__ == "__main__":
    main()
