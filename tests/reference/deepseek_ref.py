#!/usr/bin/python3
"""deepseek_ref.py — independent float64 reference forward pass for DeepSeek-V2/V3, Qwen2 and
Llama 3 models stored as an HF folder (F32/BF16/FP8 safetensors) or a GGUF (F32/F16/Q8_0).

  /usr/bin/python3 tests/reference/deepseek_ref.py --model PATH --tokens 1,2,3 --out logits.npy
      [--experts-out experts.json] [--hidden-out hidden.npy] [--absorbed] [--stepwise]

Writes float32 logits [n_tokens, vocab] for every position (numpy .npy). --hidden-out writes the
residual stream [n_layers + 1, n_tokens, hidden] (after the embedding and after each layer).
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ref_load import load_model  # noqa: E402
from ref_model import LayerCache, forward  # noqa: E402


def run(cfg, w, tokens, absorbed=False, stepwise=False):
    """-> (logits [T, V] float64, trace {layer: (ids, weights, margin)}, hidden [L+1, T, D])."""
    trace, hidden = {}, []
    if not stepwise:
        logits = forward(cfg, w, tokens, absorbed=absorbed, trace=trace, hidden_out=hidden)
        return logits, trace, np.stack(hidden)
    caches = [LayerCache() for _ in range(cfg["num_hidden_layers"])]
    rows, steps = [], []
    for t, tok in enumerate(tokens):
        tr, hs = {}, []
        rows.append(forward(cfg, w, [tok], caches, t, absorbed, tr, hs))
        steps.append((tr, np.stack(hs)))
    for layer in steps[0][0]:
        trace[layer] = tuple(np.concatenate([s[0][layer][i] for s in steps]) for i in range(3))
    return np.concatenate(rows), trace, np.concatenate([s[1] for s in steps], axis=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description="float64 reference logits")
    ap.add_argument("--model", required=True, help="HF folder or .gguf file")
    ap.add_argument("--tokens", required=True, help="comma-separated ids, or @tokens.json")
    ap.add_argument("--out", required=True, help="logits .npy (float32 [T, vocab])")
    ap.add_argument("--experts-out", help="expert ids/weights per MoE layer and token (JSON)")
    ap.add_argument("--hidden-out", help="residual stream per layer (.npy float32 [L+1, T, D])")
    ap.add_argument("--absorbed", action="store_true", help="MLA in the absorbed form")
    ap.add_argument("--stepwise", action="store_true", help="one token at a time with a cache")
    a = ap.parse_args(argv)
    if a.tokens.startswith("@"):
        with open(a.tokens[1:]) as f:
            tokens = json.load(f)["tokens"]
    else:
        tokens = [int(t) for t in a.tokens.split(",") if t.strip()]
    cfg, w = load_model(a.model)
    if max(tokens) >= cfg["vocab_size"] or min(tokens) < 0:
        ap.error(f"token id outside [0, {cfg['vocab_size']})")
    logits, trace, hidden = run(cfg, w, tokens, a.absorbed, a.stepwise)
    np.save(a.out, logits.astype(np.float32))
    if a.hidden_out:
        np.save(a.hidden_out, hidden.astype(np.float32))
    if a.experts_out:
        with open(a.experts_out, "w") as f:
            json.dump({
                "tokens": [int(t) for t in tokens],
                "moe_layers": sorted(int(k) for k in trace),
                "experts": {str(k): trace[k][0].tolist() for k in sorted(trace)},
                "weights": {str(k): trace[k][1].tolist() for k in sorted(trace)},
                "min_margin": {str(k): float(trace[k][2].min()) for k in sorted(trace)},
            }, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
