#!/usr/bin/env python3
"""check_logits.py — whale against the PyTorch model whale-r1-tiny was trained as.

models/whale-r1-tiny/check/reference.json holds a few texts (a question as the R1 template
renders it, plus the model's greedy reply), their token ids from the recipe's own tokenizer, and
logits computed by the recipe's PyTorch model in float64 (train/whale_r1_tiny/export.py). For the
GGUF and the HF folder this requires:
  * `whale tokenize` gives exactly those token ids (whale's BPE vs the recipe's),
  * `whale logits` (one batch, and token by token through the KV cache) matches per position
    within TOL * max|ref|. TOL = 1e-4: the files are F32 and whale computes in f32, so only f32
    rounding separates them (measured ~3e-7).
Exit status 1 with one line per failure.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

TOL = 1e-4


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--whale", required=True)
    ap.add_argument("--model-dir", required=True)
    args = ap.parse_args()
    check = os.path.join(args.model_dir, "check")
    ref = json.load(open(os.path.join(check, "reference.json")))
    assert len(ref["texts"]) >= 3, "reference.json should hold at least three texts"
    files = [os.path.join(args.model_dir, "whale-r1-tiny.gguf"), os.path.join(args.model_dir, "hf")]
    tmp = tempfile.mkdtemp(prefix="whale-r1-tiny-")
    failures, worst = [], 0.0
    for f in files:
        for i, t in enumerate(ref["texts"]):
            label = f"{os.path.basename(f)} text {i}"
            ids = json.loads(run([args.whale, "tokenize", "-m", f, "--text", t["text"], "--no-bos"]))
            if ids != t["tokens"]:
                failures.append(f"{label}: whale tokenize gives {ids[:12]}... not {t['tokens'][:12]}...")
            want = np.load(os.path.join(check, t["logits"])).astype(np.float64)
            if want.shape[0] != len(t["tokens"]):
                failures.append(f"{label}: {t['logits']} has {want.shape[0]} rows for "
                                f"{len(t['tokens'])} tokens")
                continue
            for extra in ([], ["--decode"]):
                out = os.path.join(tmp, "logits.npy")
                run([args.whale, "logits", "-m", f, "--tokens", ",".join(map(str, t["tokens"])),
                     "-o", out, "-t", "1"] + extra)
                got = np.load(out).astype(np.float64)
                if got.shape != want.shape:
                    failures.append(f"{label} {extra}: shape {got.shape} vs {want.shape}")
                    continue
                rel = np.abs(got - want).max(1) / np.abs(want).max(1)
                worst = max(worst, float(rel.max()))
                if rel.max() > TOL:
                    p = int(rel.argmax())
                    failures.append(f"{label} {' '.join(extra)}: position {p} off by {rel[p]:.2e} "
                                    f"of max|logit| (tolerance {TOL:g})")
    for line in failures:
        print("FAIL", line)
    print(f"whale-r1-tiny logits: {len(files)} files x {len(ref['texts'])} texts, worst relative "
          f"error {worst:.2e}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
