#!/usr/bin/python3
"""make_tiny_models.py — generate the tiny test models (HF folders, GGUFs, prompt, reference
logits and expert choices) deterministically from a seed.

  /usr/bin/python3 tests/reference/make_tiny_models.py --out DIR [--seed N] [--models a,b]

See tests/reference/README.md for the directory layout.
"""
import argparse
import json
import os
import sys
import time
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ref_load import config_from_hf, load_model  # noqa: E402
from ref_model import forward  # noqa: E402
from tiny_configs import MODELS, QUANT_ONLY_MODELS, generation_config  # noqa: E402
from tiny_weights import condition_routing, init_weights, llama3_freq_divisors  # noqa: E402
from tiny_writers import write_gguf_model, write_hf  # noqa: E402

PROMPT_LEN = 40


def experts_json(name, tokens, trace, margins=None):
    return {
        "model": name,
        "tokens": [int(t) for t in tokens],
        "moe_layers": sorted(int(k) for k in trace),
        # Per MoE layer, per token: expert ids in selection order (best first) and their weights.
        "experts": {str(k): trace[k][0].tolist() for k in sorted(trace)},
        "weights": {str(k): trace[k][1].tolist() for k in sorted(trace)},
        "min_margin": {str(k): float(trace[k][2].min()) for k in sorted(trace)},
    }


def file_variants(name, arch, quant_only=False):
    """(stem, relative path) of every stored form of the model."""
    if quant_only:
        return [(f"{name}-f32", f"{name}-f32.gguf")]
    v = [("hf", "hf"), ("hf-bf16", "hf-bf16")]
    if arch == "deepseek2":
        v.append(("hf-fp8", "hf-fp8"))
    for s in ("f32", "f16", "q8_0"):
        v.append((f"{name}-{s}", f"{name}-{s}.gguf"))
    if arch == "deepseek2":
        v += [(f"{name}-f32-kvb", f"{name}-f32-kvb.gguf"),
              (f"{name}-f32-kvb-2d", f"{name}-f32-kvb-2d.gguf")]
    return v


def make_model(name, out_root, seed, log):
    t0 = time.time()
    quant_only = name in QUANT_ONLY_MODELS
    factory, arch = QUANT_ONLY_MODELS[name] if quant_only else MODELS[name]
    hf = factory()
    cfg = config_from_hf(hf)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    w = init_weights(cfg, rng)
    if arch == "llama":
        cfg["rope_freq_divisors"] = llama3_freq_divisors(cfg)  # written as rope_freqs.weight
    tokens = np.concatenate([[hf["bos_token_id"]], rng.integers(2, cfg["vocab_size"], PROMPT_LEN - 1)])
    margins = condition_routing(w, cfg, tokens, rng) if arch == "deepseek2" else {}

    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    gen = generation_config(hf)
    if quant_only:
        write_gguf_model(os.path.join(d, f"{name}-f32.gguf"), name, arch, hf, cfg, w, "f32")
    else:
        write_hf(os.path.join(d, "hf"), hf, gen, w, "f32")
        write_hf(os.path.join(d, "hf-bf16"), hf, gen, w, "bf16")
        if arch == "deepseek2":
            write_hf(os.path.join(d, "hf-fp8"), hf, gen, w, "fp8")
        for ftype in ("f32", "f16", "q8_0"):
            write_gguf_model(os.path.join(d, f"{name}-{ftype}.gguf"), name, arch, hf, cfg, w, ftype)
        if arch == "deepseek2":
            write_gguf_model(os.path.join(d, f"{name}-f32-kvb.gguf"), name, arch, hf, cfg, w, "f32",
                             "kvb")
            write_gguf_model(os.path.join(d, f"{name}-f32-kvb-2d.gguf"), name, arch, hf, cfg, w,
                             "f32", "kvb-2d")
    with open(os.path.join(d, "tokens.json"), "w") as f:
        json.dump({"tokens": [int(t) for t in tokens]}, f)
        f.write("\n")

    # Reference logits (and expert choices) for every stored form, read back from the files.
    os.makedirs(os.path.join(d, "logits"), exist_ok=True)
    if arch == "deepseek2":
        os.makedirs(os.path.join(d, "experts"), exist_ok=True)
    for stem, rel in file_variants(name, arch, quant_only):
        vcfg, vw = load_model(os.path.join(d, rel))
        trace = {}
        logits = forward(vcfg, vw, tokens, trace=trace)
        np.save(os.path.join(d, "logits", stem + ".npy"), logits.astype(np.float32))
        if trace:
            with open(os.path.join(d, "experts", stem + ".json"), "w") as f:
                json.dump(experts_json(name, tokens, trace), f)
            if stem == ("hf" if not quant_only else f"{name}-f32"):
                with open(os.path.join(d, "experts.json"), "w") as f:
                    json.dump(experts_json(name, tokens, trace), f)
    log(f"{name}: {time.time() - t0:.1f} s, routing margins {margins}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--models", default=",".join(list(MODELS) + list(QUANT_ONLY_MODELS)))
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    for name in args.models.split(","):
        if name not in MODELS and name not in QUANT_ONLY_MODELS:
            ap.error(f"unknown model {name} (have {', '.join(list(MODELS) + list(QUANT_ONLY_MODELS))})")
        make_model(name, args.out, args.seed, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
