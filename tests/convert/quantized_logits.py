#!/usr/bin/env python3
"""quantized_logits.py — `whale quantize` of every tiny model's F32 GGUF to every TYPE, checked
two ways with compare_logits.py's machinery:

1. Exactness: whale's logits on the quantized file against the float64 reference run on the same
   weights, dequantized (for Q8_0 the reference reads the quantized file itself with its own
   dequantizer; for the other types it reads `whale quantize q.gguf deq.gguf F32`, whose
   dequantizers tests/quant checks block by block against tests/quant/ggml_blocks_ref.py).
   Criterion: compare_logits.TOL (1e-4 x max|logit| per position) and identical expert choices,
   as for every stored file: activations stay f32, so quantized weights add no kernel error.
2. Sanity: the quantized model stays close to the F32 model. Relative RMS of the logits,
   ||q - f32|| / ||f32|| over all positions, must stay under TOL_VS_F32[type]: twice the worst
   value measured on the five tiny models (seed 1234), see docs/quantization.md. A broken
   layout or a swapped tensor gives ~1 or more.

The tiny models' rows (160-288 wide) are not multiples of 256, so the K types fall back to the
32-element types here (Q4_K -> Q5_0 ...); the K encoders are checked bit for bit in
convert_unit_test instead.
"""
import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "model"))
from compare_logits import REF, TOL, compare_experts, run  # noqa: E402

# Measured worst relative RMS over the five tiny models (x2, rounded up). deepseek-v3-tiny is
# the worst for every type: quantization moves some routing decisions (its margins are
# conditioned to 1e-3 in the F32 model only).
TOL_VS_F32 = {
    "F16": 1.5e-3, "BF16": 1.2e-2, "Q8_0": 0.12, "Q6_K": 0.12,
    "Q5_K_M": 0.35, "Q5_K_S": 0.35, "Q5_1": 0.35, "Q5_0": 0.5,
    "Q4_K_M": 0.5, "Q4_K_S": 0.5,
    "Q4_1": 0.85, "Q4_0": 0.85, "IQ4_NL": 0.85, "IQ4_XS": 0.85,
    "Q3_K_L": 0.85, "Q3_K_M": 0.85, "Q3_K_S": 0.85, "Q2_K": 0.85,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--whale", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--types", default=",".join(TOL_VS_F32))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="whale-quantized-")
    failures, checks = [], 0
    for model in sorted(os.listdir(args.models)):
        mdir = os.path.join(args.models, model)
        f32 = os.path.join(mdir, f"{model}-f32.gguf")
        if not os.path.exists(f32):
            continue
        tokens = ",".join(str(t) for t in __import__("json").load(open(os.path.join(mdir, "tokens.json")))["tokens"])
        f32_logits = np.load(os.path.join(mdir, "logits", f"{model}-f32.npy")).astype(np.float64)
        is_deepseek = model.startswith("deepseek")
        for ty in args.types.split(","):
            label = f"{model} {ty}"
            q = os.path.join(tmp, f"{model}-{ty}.gguf")
            try:
                run([args.whale, "quantize", f32, q, ty, "-t", "2"])
                ref_in = q
                if ty != "Q8_0" and ty not in ("F16", "BF16"):
                    ref_in = os.path.join(tmp, f"{model}-{ty}-deq.gguf")
                    run([args.whale, "quantize", q, ref_in, "F32", "--allow-requantize"])
                ref_npy, ref_exp = os.path.join(tmp, "ref.npy"), os.path.join(tmp, "ref.json")
                cmd = [sys.executable, REF, "--model", ref_in, "--tokens", tokens, "--out", ref_npy]
                if is_deepseek:
                    cmd += ["--experts-out", ref_exp]
                run(cmd)
                got_npy, got_exp = os.path.join(tmp, "got.npy"), os.path.join(tmp, "got.json")
                cmd = [args.whale, "logits", "-m", q, "--tokens", tokens, "-o", got_npy, "-t", "2"]
                if is_deepseek:
                    cmd += ["--experts-out", got_exp]
                run(cmd)
            except RuntimeError as e:
                failures.append(f"{label}: {e}")
                continue
            checks += 1
            errs = compare_experts(ref_exp, got_exp, label) if is_deepseek else []
            if errs:
                failures.extend(errs[:5])
                continue
            ref = np.load(ref_npy).astype(np.float64)
            got = np.load(got_npy).astype(np.float64)
            worst = max(np.max(np.abs(got[t] - ref[t])) / np.max(np.abs(ref[t])) for t in range(ref.shape[0]))
            vs_f32 = np.sqrt(np.sum((got - f32_logits) ** 2) / np.sum(f32_logits ** 2))
            if not worst <= TOL:
                failures.append(f"{label}: vs reference on the same weights {worst:.3g} x max|logit| > {TOL}")
            elif not vs_f32 <= TOL_VS_F32[ty]:
                failures.append(f"{label}: relative RMS vs F32 logits {vs_f32:.3g} > {TOL_VS_F32[ty]}")
            else:
                print(f"ok   {label:32s} vs reference {worst:.2e}   vs F32 {vs_f32:.2e} (<= {TOL_VS_F32[ty]})")
    for f in failures:
        print("FAIL", f)
    print(f"{checks - len(failures)} passed, {len(failures)} failed")
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
