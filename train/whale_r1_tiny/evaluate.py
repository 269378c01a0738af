"""evaluate.py — accuracy of a checkpoint on the held-out set, per task and level.

  /usr/bin/python3 evaluate.py RUN_DIR CHECKPOINT NAME

Greedy on every held-out problem (what the engine check reproduces), and sampled — the mean
over SAMPLES replies at temperature 1 of the first SAMPLED_N problems of each level GRPO trains
on (grpo.TARGETS), which is what GRPO's objective raises directly.
Writes RUN_DIR/eval_NAME.json ({"greedy": table, "sampled": table}; each entry n, correct,
accuracy, se) and RUN_DIR/replies_NAME.jsonl (every greedy reply).
"""
import json
import math
import os
import sys
import time

import torch

from common import deterministic, evaluate, load_model, load_tokenizer, write_json
from grpo import TARGETS

SEED = 99
SAMPLES = 4
SAMPLED_N = 100


def sampled(model, tok, problems):
    """Per level: mean accuracy over SAMPLES samples per problem; the standard error is that of
    the mean over problems of each problem's fraction correct (samples of one problem are not
    independent draws of the level's accuracy)."""
    chosen, count = [], {}
    for p in problems:
        key = (p["task"], p["level"])
        if key in TARGETS and count.get(key, 0) < SAMPLED_N:
            count[key] = count.get(key, 0) + 1
            chosen.append(p)
    gen = torch.Generator().manual_seed(SEED)
    _, replies = evaluate(model, tok, [p for p in chosen for _ in range(SAMPLES)], temperature=1.0, gen=gen)
    per = {}
    for i, p in enumerate(chosen):
        frac = sum(r["correct"] for r in replies[i * SAMPLES:(i + 1) * SAMPLES]) / SAMPLES
        per.setdefault(f"{p['task']}-{p['level']}", []).append(frac)
    out = {}
    for key, xs in sorted(per.items()):
        n, m = len(xs), sum(xs) / len(xs)
        var = sum((x - m) ** 2 for x in xs) / max(1, n - 1)
        out[key] = {"n": n, "samples": SAMPLES, "accuracy": round(m, 4),
                    "se": round(math.sqrt(var / n), 4)}
    return out


def main():
    run, ckpt, name = sys.argv[1:4]
    deterministic(0)
    tok = load_tokenizer(run)
    model = load_model(run, ckpt, tok)
    with open(os.path.join(run, "eval.jsonl")) as f:
        problems = [json.loads(l) for l in f]
    t0 = time.time()
    table, replies = evaluate(model, tok, problems)
    t1 = time.time()
    samp = sampled(model, tok, problems)
    write_json(os.path.join(run, f"eval_{name}.json"), {"greedy": table, "sampled": samp})
    with open(os.path.join(run, f"replies_{name}.jsonl"), "w") as f:
        for r in replies:
            f.write(json.dumps(r) + "\n")
    print(f"eval {name} greedy ({t1 - t0:.0f}s): " +
          ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in table.items()), flush=True)
    print(f"eval {name} sampled T=1 x{SAMPLES} ({time.time() - t1:.0f}s): " +
          ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in samp.items()), flush=True)


if __name__ == "__main__":
    main()
