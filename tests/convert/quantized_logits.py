#!/usr/bin/env python3
"""quantized_logits.py — `whale quantize` of every tiny model's F32 GGUF to every TYPE, checked
three ways with compare_logits.py's machinery:

1. Exactness: whale's logits on the quantized file against the float64 reference run on the same
   weights, dequantized (for Q8_0/F16/BF16 the reference reads the quantized file itself with its
   own dequantizer; for the other types it reads `whale quantize q.gguf deq.gguf F32`, whose
   dequantizers tests/quant checks block by block against tests/quant/ggml_blocks_ref.py).
   Criterion: compare_logits.TOL (1e-4 x max|logit| per position) and identical expert choices,
   as for every stored file. whale runs with WHALE_MATMUL=exact, so activations stay f32 and
   quantized weights add no kernel error.
2. Sanity: the quantized model stays close to the F32 model. Relative RMS of the logits,
   ||q - f32|| / ||f32|| over all positions, must stay under the type's bound: twice the worst
   value measured (seed 1234), see docs/quantization.md. A broken layout or a swapped tensor
   gives ~1 or more.
3. The types really used (deepseek-v3-k256-tiny only): read back from the output GGUF's tensor
   directory. The five older tiny models' rows (160-288) are not multiples of 256, so there the
   K types fall back to 32-element types (Q4_K -> Q5_0 ...); deepseek-v3-k256-tiny has every
   row 256 wide, so every K type (plain, with --pure) and the Q4_K_M/Q5_K_M/Q3_K_M/Q2_K mixtures
   must store only 256-element types there, and the plain ones the asked type everywhere; the
   same for the codebook types IQ2_XXS, IQ1_S, IQ1_M (plain and mixtures).

Speed: the reference runs in-process (one numpy import, not one Python per check); the checks
run in two worker processes; and a quantized file whose tensors are byte-identical to one
already checked for the same model (e.g. Q6_K and Q8_0 on a model where Q6_K falls back to
Q8_0 everywhere) is not checked twice.
"""
import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile

# One thread per worker: the two workers already fill the two CI cores.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "model"))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
from compare_logits import TOL, compare_experts, run  # noqa: E402
from gguf_io import GGUF_MAGIC, _Reader  # noqa: E402
from ref_load import load_model  # noqa: E402
from ref_model import forward  # noqa: E402

# Measured worst relative RMS over the five older tiny models (x2, rounded up).
# deepseek-v3-tiny is the worst for every type: quantization moves some routing decisions (its
# margins are conditioned to 1e-3 in the F32 model only).
TOL_VS_F32 = {
    "F16": 1.5e-3, "BF16": 1.2e-2, "Q8_0": 0.12, "Q6_K": 0.12,
    "Q5_K_M": 0.35, "Q5_K_S": 0.35, "Q5_1": 0.35, "Q5_0": 0.5,
    "Q4_K_M": 0.5, "Q4_K_S": 0.5,
    "Q4_1": 0.85, "Q4_0": 0.85, "IQ4_NL": 0.85, "IQ4_XS": 0.85,
    "Q3_K_L": 0.85, "Q3_K_M": 0.85, "Q3_K_S": 0.85, "Q2_K": 0.85,
}

K256_MODEL = "deepseek-v3-k256-tiny"
# deepseek-v3-k256-tiny: (TYPE, --pure, the one type every matrix must have (pure) or the base
# type of the mixture) -> bound on the relative RMS vs F32: 1.5x the value measured (seed 1234;
# quantization and the model are deterministic), not 2x as above, so that Q2_K's bound stays
# below the ~1.4 of unrelated logits. Measured: Q2_K 0.661 / 0.607 (pure / mixture), Q3_K 0.455
# / 0.373, Q4_K 0.265 / 0.241, Q5_K 0.131 / 0.124, Q6_K 0.043, IQ4_XS 0.254.
K256_RUNS = {
    ("Q2_K", True, "Q2_K"): 1.0,
    ("Q3_K_M", True, "Q3_K"): 0.7,
    ("Q4_K_M", True, "Q4_K"): 0.4,
    ("Q5_K_M", True, "Q5_K"): 0.2,
    ("Q6_K", True, "Q6_K"): 0.065,
    ("IQ4_XS", True, "IQ4_XS"): 0.4,
    # The codebook types at 1.2x (1.5x would come close to unrelated logits). Measured: IQ2_XXS
    # 0.751 / 0.678 (pure / mixture), IQ1_S 0.883, IQ1_M 0.853 / 0.666.
    ("IQ2_XXS", True, "IQ2_XXS"): 0.9,
    ("IQ1_S", True, "IQ1_S"): 1.06,
    ("IQ1_M", True, "IQ1_M"): 1.03,
    ("IQ2_XXS", False, "IQ2_XXS"): 0.82,
    ("IQ1_M", False, "IQ1_M"): 0.8,
    ("Q2_K", False, "Q2_K"): 0.95,
    ("Q3_K_M", False, "Q3_K"): 0.6,
    ("Q4_K_M", False, "Q4_K"): 0.37,
    ("Q5_K_M", False, "Q5_K"): 0.19,
}

GGML_TYPE_NAMES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0",
                   10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 20: "IQ4_NL",
                   23: "IQ4_XS", 30: "BF16", 16: "IQ2_XXS", 19: "IQ1_S", 29: "IQ1_M"}
K_FAMILY = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}

WHALE_ENV = dict(os.environ, WHALE_MATMUL="exact")


def gguf_tensor_directory(path):
    """-> ({name: (type name, dims)}, sha256 of the tensor infos and the tensor data): the hash
    ignores the metadata, which differs between TYPEs even when every tensor is the same."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != GGUF_MAGIC:
        raise RuntimeError(f"{path}: not a GGUF file")
    r = _Reader(data)
    r.p = 4
    _, n_t, n_kv = r.take("<I"), r.take("<Q"), r.take("<Q")
    meta = {}
    for _ in range(n_kv):
        k = r.string()
        meta[k] = r.value(r.take("<I"))
    infos_start = r.p
    tensors = {}
    for _ in range(n_t):
        name = r.string()
        ne = [r.take("<Q") for _ in range(r.take("<I"))]
        t = r.take("<I")
        r.take("<Q")
        tensors[name] = (GGML_TYPE_NAMES.get(t, f"type{t}"), ne)
    h = hashlib.sha256(data[infos_start:r.p])
    align = int(meta.get("general.alignment", 32))
    h.update(data[r.p + (align - r.p % align) % align:])
    return tensors, h.hexdigest()


def type_errors(label, tensors, want, pure):
    """Check 3 on deepseek-v3-k256-tiny: stays-F32 tensors are F32, every other tensor has a
    256-element K type (IQ4_XS for IQ4_XS), the asked one everywhere when pure. The one
    exception is MLA's attn_k_b, whose rows are qk_nope_head_dim wide (128 in DeepSeek-V3 too):
    it takes the documented 32-element fallback, which QuantRecipe tests."""
    errors, n_base = [], 0
    for name, (ty, ne) in tensors.items():
        stays_f32 = len(ne) == 1 or "ffn_gate_inp" in name or "rope_freqs" in name
        if "attn_k_b" in name and ne[0] % 256 != 0:
            ok = ty not in K_FAMILY and ty != "IQ4_XS"
        elif stays_f32:
            ok = ty == "F32"
        elif pure:
            ok = ty == want
        else:
            ok = ty in K_FAMILY or ty == want
        n_base += ty == want
        if not ok:
            errors.append(f"{label}: {name} stored as {ty}")
    if n_base == 0:
        errors.append(f"{label}: no tensor stored as {want}")
    return errors


def quantize_job(job):
    """Worker: quantize one (model, TYPE); -> (job, tensor directory, hash) or (job, error)."""
    model, mdir, ty, pure, q = job[:5]
    cmd = [ARGS.whale, "quantize", os.path.join(mdir, f"{model}-f32.gguf"), q, ty, "-t", "1"]
    try:
        run(cmd + (["--pure"] if pure else []))
        tensors, digest = gguf_tensor_directory(q)
    except RuntimeError as e:
        return job, None, str(e)
    return job, tensors, digest


def logits_job(job):
    """Worker: checks 1 and 2 for one quantized file; -> (job, error list, summary line,
    relative RMS vs F32 or None)."""
    model, mdir, ty, pure, q, label, bound = job
    base = os.path.splitext(q)[0]
    is_deepseek = model.startswith("deepseek")
    tokens = json.load(open(os.path.join(mdir, "tokens.json")))["tokens"]
    try:
        ref_in = q
        if ty not in ("Q8_0", "F16", "BF16"):
            ref_in = base + "-deq.gguf"
            run([ARGS.whale, "quantize", q, ref_in, "F32", "--allow-requantize", "-t", "1"])
        got_npy, got_exp = base + "-got.npy", base + "-got.json"
        cmd = [ARGS.whale, "logits", "-m", q, "--tokens", ",".join(map(str, tokens)),
               "-o", got_npy, "-t", "1"]
        if is_deepseek:
            cmd += ["--experts-out", got_exp]
        r = subprocess.run(cmd, capture_output=True, text=True, env=WHALE_ENV)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    except RuntimeError as e:
        return job, [f"{label}: {e}"], "", None
    cfg, w = load_model(ref_in)
    trace = {}
    ref = forward(cfg, w, tokens, trace=trace)
    if ref_in != q:
        os.remove(ref_in)
    if is_deepseek:
        ref_exp = base + "-ref.json"
        with open(ref_exp, "w") as f:
            json.dump({str(k): trace[k][0].tolist() for k in sorted(trace)}, f)
        errs = compare_experts(ref_exp, got_exp, label)
        if errs:
            return job, errs[:5], "", None
    got = np.load(got_npy).astype(np.float64)
    f32_logits = np.load(os.path.join(mdir, "logits", f"{model}-f32.npy")).astype(np.float64)
    worst = max(np.max(np.abs(got[t] - ref[t])) / np.max(np.abs(ref[t])) for t in range(ref.shape[0]))
    vs_f32 = np.sqrt(np.sum((got - f32_logits) ** 2) / np.sum(f32_logits ** 2))
    if not worst <= TOL:
        return job, [f"{label}: vs reference on the same weights {worst:.3g} x max|logit| > {TOL}"], "", None
    if not vs_f32 <= bound:
        return job, [f"{label}: relative RMS vs F32 logits {vs_f32:.3g} > {bound}"], "", vs_f32
    return job, [], f"ok   {label:40s} vs reference {worst:.2e}   vs F32 {vs_f32:.2e} (<= {bound})", vs_f32


def init_worker(args):
    global ARGS
    ARGS = args


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--whale", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--types", default=",".join(TOL_VS_F32), help="TYPEs for the older models")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    init_worker(args)
    tmp = tempfile.mkdtemp(prefix="whale-quantized-")
    # job: (model, model dir, TYPE, pure, output, label, bound on the distance to F32)
    jobs, wants = [], {}
    for model in sorted(os.listdir(args.models)):
        mdir = os.path.join(args.models, model)
        if not os.path.exists(os.path.join(mdir, f"{model}-f32.gguf")):
            continue
        if model == K256_MODEL:
            runs = [(ty, pure, bound) for (ty, pure, _), bound in K256_RUNS.items()]
        else:
            runs = [(ty, False, TOL_VS_F32[ty]) for ty in args.types.split(",")]
        for ty, pure, bound in runs:
            suffix = "-pure" if pure else ""
            q = os.path.join(tmp, f"{model}-{ty}{suffix}.gguf")
            label = f"{model} {ty}{' --pure' if pure else ''}"
            jobs.append((model, mdir, ty, pure, q, label, bound))
            if model == K256_MODEL:
                wants[label] = next(w for (t, p, w) in K256_RUNS if (t, p) == (ty, pure))
    failures, passed, seen = [], 0, {}
    unique, duplicates = [], []
    with multiprocessing.Pool(args.jobs, initializer=init_worker, initargs=(args,)) as pool:
        for job, tensors, digest in pool.imap(quantize_job, jobs):
            label = job[5]
            if tensors is None:
                failures.append(f"{label}: {digest}")
                continue
            if job[0] == K256_MODEL:
                errs = type_errors(label, tensors, wants[label], job[3])
                if errs:
                    failures.extend(errs[:5])
                    continue
            key = (job[0], digest)
            if key in seen:
                duplicates.append((label, job[6], seen[key]))
                os.remove(job[4])
            else:
                seen[key] = label
                unique.append(job)
        results = {}
        for job, errs, line, vs_f32 in pool.imap_unordered(logits_job, unique):
            results[job[5]] = (errs, line, vs_f32)
            os.remove(job[4])
    for job in unique:
        errs, line, _ = results[job[5]]
        if errs:
            failures.extend(errs)
        else:
            passed += 1
            print(line)
    for label, bound, same in duplicates:
        errs, _, vs_f32 = results[same]
        if errs:
            failures.append(f"{label}: tensors byte-identical to {same}, which failed")
        elif not vs_f32 <= bound:  # the same logits, but this TYPE may have a tighter bound
            failures.append(f"{label}: relative RMS vs F32 logits {vs_f32:.3g} > {bound}")
        else:
            passed += 1
            print(f"ok   {label:40s} tensors byte-identical to {same} (vs F32 {vs_f32:.2e})")
    for f in failures:
        print("FAIL", f)
    print(f"{passed} passed, {len(failures)} failed ({len(unique)} files checked against the "
          f"reference, {len(duplicates)} identical to one of them)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
