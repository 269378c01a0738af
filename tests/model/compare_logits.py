#!/usr/bin/env python3
"""compare_logits.py — whale's logits against the float64 PyTorch reference on every tiny model.

For each model directory under MODELS (written by tests/reference/make_tiny_models.py) and each
weight file of it (HF folders in F32/BF16/FP8, GGUF in F32 (three MLA layouts)/F16/Q8_0), runs
  * the reference (tests/reference/deepseek_ref.py) on the same file,
  * `whale logits` as one batch (prefill) and token by token (--decode), and for DeepSeek models
    with both attention forms (--mla naive / absorbed),
and requires per position max|whale - ref| <= TOL * max|ref| with TOL = 1e-4: every path keeps
activations in f32 and dequantizes weights exactly to f32, so the only error is f32 rounding of
~1e2-1e3-term dot products over a few layers (measured worst ~2e-6; see README in this folder).
Expert choices are compared first, so a routing bug reads "layer 2 token 7: [3, 5] vs [3, 6]".
With --converted the files checked are instead `whale convert --type f32` outputs of each HF
folder (F32, BF16, FP8), against that folder's reference logits.
whale runs with WHALE_MATMUL=exact here: its default quantizes activations to 8 bits for
block-quantized weights, which is checked separately with --q8-activations:

--q8-activations: only the Q8_0 GGUF files, whale's default integer path, TOL_Q8 = 5e-2. Why:
each activation block is rounded to a grid of step d = max|x_b| / 127, so every element moves
by at most d/2 = max|x_b| / 254 (0.4 % of the block's largest value; Q8_0's f16 scale adds
127 · 2^-11 · d). The tiny models chain 2-4 layers of ~4 quantized matmuls each, every one
re-quantizing its input; with activations whose block max is ~3-4x their RMS, each matmul's
output moves by up to ~1.5 % of its RMS in the worst case and ~0.3 % typically (random signs
add in quadrature) over ~8-16 matmuls in series. 5e-2 x max|logit| holds the
worst-case chain with margin while still failing on any real kernel error (a wrong scale,
a lost block or a layout slip moves logits by tens of percent). Measured worst: 1.5 % on the
dense models, 2.3 % on the DeepSeek ones. Routing is discontinuous: where two router scores
are closer than that error an expert choice may flip, which is no kernel error but changes that
token's output by far more; so positions from the first flipped choice on (any layer) are not
compared, and the test fails if a flip happens at position 0 (nothing would be checked).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "..", "reference", "deepseek_ref.py")
TOL = 1e-4
TOL_Q8 = 5e-2


def weight_files(model_dir):
    out = []
    for name in sorted(os.listdir(model_dir)):
        p = os.path.join(model_dir, name)
        if os.path.isdir(p) and os.path.exists(os.path.join(p, "config.json")):
            out.append(p)
        elif name.endswith(".gguf"):
            out.append(p)
    return out


def converted_files(model_dir, whale, tmp):
    """`whale convert --type f32` of every HF folder of the model: (file, reference stem). The
    converted GGUF holds the same f32 values as the folder, so the folder's stored reference
    logits apply unchanged."""
    out = []
    for stem in ("hf", "hf-bf16", "hf-fp8"):
        src = os.path.join(model_dir, stem)
        if not os.path.isdir(src):
            continue
        dst = os.path.join(tmp, f"{os.path.basename(model_dir)}-{stem}-converted.gguf")
        run([whale, "convert", src, "-o", dst, "--type", "f32", "-t", "2"])
        out.append((dst, stem))
    return out


def run(cmd, exact=True):
    env = dict(os.environ)
    if exact:
        env["WHALE_MATMUL"] = "exact"
    else:
        env.pop("WHALE_MATMUL", None)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r


def first_flip(ref_path, got_path):
    """The first token position whose expert choice differs in any layer (None if none)."""
    if not (os.path.exists(ref_path) and os.path.exists(got_path)):
        return None
    ref = json.load(open(ref_path))
    if "experts" in ref:
        ref = ref["experts"]
    got = json.load(open(got_path))
    first = None
    for layer, rows in ref.items():
        for t, (a, b) in enumerate(zip(rows, got.get(str(layer), []))):
            if sorted(a) != sorted(b):
                first = t if first is None else min(first, t)
                break
    return first


def compare_experts(ref_path, got_path, label):
    if not (os.path.exists(ref_path) and os.path.exists(got_path)):
        return []
    ref = json.load(open(ref_path))
    if "experts" in ref:
        ref = ref["experts"]
    got = json.load(open(got_path))
    errors = []
    for layer, rows in ref.items():
        grows = got.get(str(layer))
        if grows is None:
            errors.append(f"{label}: layer {layer}: whale reported no experts")
            continue
        for t, (a, b) in enumerate(zip(rows, grows)):
            if sorted(a) != sorted(b):
                errors.append(f"{label}: layer {layer} token {t}: experts {sorted(b)} vs reference {sorted(a)}")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--whale", default=os.environ.get("WHALE_BIN", "build/release/src/cli/whale"))
    ap.add_argument("--models", required=True)
    ap.add_argument("--only", default="", help="substring filter on model names")
    ap.add_argument("--ref", default=REF, help="reference script")
    ap.add_argument("--converted", action="store_true",
                    help="check `whale convert` outputs of the HF folders instead of the stored files")
    ap.add_argument("--q8-activations", action="store_true",
                    help="check the default integer path on the Q8_0 files with TOL_Q8")
    args = ap.parse_args()
    q8 = args.q8_activations
    tol = TOL_Q8 if q8 else TOL

    failures = []
    checks = 0
    tmp = tempfile.mkdtemp(prefix="whale-logits-")
    for model in sorted(os.listdir(args.models)):
        mdir = os.path.join(args.models, model)
        if not os.path.isdir(mdir) or args.only not in model:
            continue
        tokens = json.load(open(os.path.join(mdir, "tokens.json")))
        if isinstance(tokens, dict):
            tokens = tokens["tokens"]
        tok_arg = ",".join(str(t) for t in tokens)
        is_deepseek = model.startswith("deepseek")
        if args.converted:
            try:
                files = converted_files(mdir, args.whale, tmp)
            except RuntimeError as e:
                failures.append(f"{model}: {e}")
                continue
        else:
            files = [(wf, os.path.splitext(os.path.basename(wf))[0]) for wf in weight_files(mdir)]
        for wf, stem in files:
            if q8 and not wf.lower().endswith("q8_0.gguf"):
                continue
            label = f"{model}/{os.path.basename(wf)}"
            # The generator stores the reference's output for each file; recompute if absent.
            ref_npy = os.path.join(mdir, "logits", stem + ".npy")
            ref_exp = os.path.join(mdir, "experts", stem + ".json")
            if not os.path.exists(ref_npy):
                ref_npy = os.path.join(tmp, "ref.npy")
                ref_exp = os.path.join(tmp, "ref-experts.json")
                if os.path.exists(ref_exp):
                    os.remove(ref_exp)
                cmd = [sys.executable, args.ref, "--model", wf, "--tokens", tok_arg, "--out", ref_npy]
                if is_deepseek:
                    cmd += ["--experts-out", ref_exp]
                run(cmd)
            ref = np.load(ref_npy).astype(np.float64)
            variants = [[], ["--decode"]]
            if is_deepseek:
                variants = [["--mla", "naive"], ["--mla", "absorbed"], ["--decode"], ["--decode", "--mla", "naive"]]
            for extra in variants:
                vlabel = f"{label} {' '.join(extra) or 'prefill'}"
                out = os.path.join(tmp, "whale.npy")
                exp = os.path.join(tmp, "whale-experts.json")
                cmd = [args.whale, "logits", "-m", wf, "--tokens", tok_arg, "-o", out, "-t", "2"] + extra
                if is_deepseek:
                    cmd += ["--experts-out", exp]
                try:
                    run(cmd, exact=not q8)
                except RuntimeError as e:
                    failures.append(f"{vlabel}: {e}")
                    continue
                errs = compare_experts(ref_exp, exp, vlabel) if is_deepseek and not q8 else []
                if errs:
                    failures.extend(errs[:5])
                    continue
                got = np.load(out).astype(np.float64)
                checks += 1
                n_pos = ref.shape[0]
                if q8 and is_deepseek:
                    flip = first_flip(ref_exp, exp)
                    if flip is not None:
                        if flip == 0:
                            failures.append(f"{vlabel}: expert choice flipped at position 0")
                            continue
                        n_pos = flip
                if got.shape != ref.shape:
                    failures.append(f"{vlabel}: shape {got.shape} vs reference {ref.shape}")
                    continue
                worst = 0.0
                for t in range(n_pos):
                    scale = np.max(np.abs(ref[t]))
                    err = np.max(np.abs(got[t] - ref[t]))
                    rel = err / scale
                    worst = max(worst, rel)
                    if not rel <= tol:
                        failures.append(f"{vlabel}: position {t}: max|diff| {err:.3g} = {rel:.3g} x max|logit| > {tol}")
                        break
                note = f" (positions < {n_pos}: an expert choice flips there)" if n_pos < ref.shape[0] else ""
                print(f"ok   {vlabel:60s} worst {worst:.2e}{note}")
        # Past one KV-cache block (64 tokens): prefill and token-by-token decode must agree,
        # which checks the paged cache addressing. No reference needed: both are whale's.
        long_tokens = ",".join(str(t) for t in (tokens * 4)[:150])
        wf = None if q8 else next((w for w in weight_files(mdir) if w.endswith("-f32.gguf")), None)
        if args.converted:
            wf = None  # the stored files' check, not repeated for converted ones
        if wf is not None:
            outs = []
            for extra in ([], ["--decode"]):
                out = os.path.join(tmp, f"long{len(outs)}.npy")
                try:
                    run([args.whale, "logits", "-m", wf, "--tokens", long_tokens, "-o", out, "-t", "2"] + extra)
                    outs.append(np.load(out).astype(np.float64))
                except RuntimeError as e:
                    failures.append(f"{model} 150 tokens: {e}")
            if len(outs) == 2:
                checks += 1
                a, b = outs
                rel = max(np.max(np.abs(a[t] - b[t])) / np.max(np.abs(a[t])) for t in range(a.shape[0]))
                if not rel <= TOL:
                    failures.append(f"{model} 150 tokens: prefill vs decode differ by {rel:.3g} x max|logit|")
                else:
                    print(f"ok   {model + ' 150 tokens prefill vs decode':60s} worst {rel:.2e}")
    for f in failures:
        print("FAIL", f)
    print(f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
