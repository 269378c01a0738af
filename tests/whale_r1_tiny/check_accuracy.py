#!/usr/bin/env python3
"""check_accuracy.py — whale's greedy answers on whale-r1-tiny's held-out problems.

models/whale-r1-tiny/check/heldout.jsonl: problems the recipe generated with a fixed seed and
never trained on (every 3-digit addition and 2-digit x 2-digit multiplication of its evaluation
set, 200 and 400, and 25 of every other task and level). check/accuracy.json: the PyTorch model's
greedy accuracy on them, the figures the model card states. For each problem this runs
  whale run -m whale-r1-tiny.gguf -p QUESTION --temp 0 --json
and grades the answer with the recipe's own checker (train/whale_r1_tiny/tasks.py: exact number,
or for Countdown an expression over exactly the given numbers that evaluates to the target).
Per task and level whale must reach the stated accuracy less SLACK (both compute in f32 but in
different orders, so a near-tie in a greedy choice may flip either way).
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "train", "whale_r1_tiny"))
import tasks  # noqa: E402

SLACK = 0.02
MAX_TOKENS = 400


def answer_of(whale, model, question):
    r = subprocess.run([whale, "run", "-m", model, "-p", question, "--temp", "0", "--json",
                        "-n", str(MAX_TOKENS), "-t", "1"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"whale run failed on {question!r}: {r.stderr}")
    out = json.loads(r.stdout)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--whale", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    check = os.path.join(args.model_dir, "check")
    model = os.path.join(args.model_dir, "whale-r1-tiny.gguf")
    problems = [json.loads(l) for l in open(os.path.join(check, "heldout.jsonl"))]
    stated = json.load(open(os.path.join(check, "accuracy.json")))
    counts = {}
    for p in problems:
        counts[(p["task"], p["level"])] = counts.get((p["task"], p["level"]), 0) + 1
    assert counts.get(("add", 2), 0) >= 200 and counts.get(("mul", 2), 0) >= 200, counts
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        outs = list(pool.map(lambda p: answer_of(args.whale, model, p["question"]), problems))
    got = {}
    for p, o in zip(problems, outs):
        key = f"{p['task']}-{p['level']}"
        ok = o.get("finish_reason") == "stop" and tasks.is_correct(p, o.get("answer", "").strip())
        n, c = got.get(key, (0, 0))
        got[key] = (n + 1, c + int(ok))
    failures = []
    for key in sorted(set(got) | set(stated)):
        n, c = got.get(key, (0, 0))
        want = stated.get(key, {}).get("accuracy")
        acc = c / n if n else 0.0
        line = f"{key:12s} whale {c:3d}/{n:3d} = {acc:.3f}   stated (PyTorch) {want}"
        print(line)
        if want is None or n == 0 or acc < want - SLACK:
            failures.append(line)
    print(f"{len(problems)} problems in {time.time() - t0:.1f} s")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
