"""prepare.py — step 1: the held-out evaluation sets and the BPE vocabulary.

  /usr/bin/python3 prepare.py RUN_DIR

Writes RUN_DIR/eval.jsonl (every task and level: 400 problems for each level GRPO trains on, so
that a change of a few points is outside one standard error (at most 2.5 points at n = 400);
200 for 3-digit addition, 100 for the others), RUN_DIR/bpe_merges.json.
Training later rejects any question that is in eval.jsonl.
"""
import json
import os
import random
import sys

import bpe
import tasks
from common import prompt_text
from grpo import TARGETS

EVAL_SEED = 7007
BPE_SEED = 11
VOCAB_SIZE = 320
EVAL_COUNTS = {("add", 2): 200, **{k: 400 for k in TARGETS}}


def eval_set():
    rng = random.Random(EVAL_SEED)
    out, seen = [], set()
    for task in tasks.TASKS:
        for level in tasks.LEVELS:
            n = EVAL_COUNTS.get((task, level), 100)
            got = 0
            while got < n:
                p = tasks.make_problem(rng, task, level)
                if p["question"] in seen:
                    continue
                seen.add(p["question"])
                out.append(p)
                got += 1
    return out


def main():
    run = sys.argv[1]
    os.makedirs(run, exist_ok=True)
    problems = eval_set()
    with open(os.path.join(run, "eval.jsonl"), "w") as f:
        for p in problems:
            f.write(json.dumps(p) + "\n")
    rng = random.Random(BPE_SEED)
    texts = []
    for _ in range(3000):
        p = tasks.make_problem(rng, rng.choice(tasks.TASKS), rng.choice(tasks.LEVELS))
        texts.append(prompt_text(p["question"]) + tasks.solution_text(p) + bpe.EOS)
    merges = bpe.train(texts, VOCAB_SIZE)
    tok = bpe.Tokenizer(merges)
    tok.save(os.path.join(run, "bpe_merges.json"))
    sample = texts[0]
    assert tok.decode(tok.encode(sample)) == sample
    print(f"eval problems {len(problems)}, vocabulary {len(tok.tokens)} tokens "
          f"({len(merges)} merges); sample {len(tok.encode(sample))} tokens", flush=True)


if __name__ == "__main__":
    main()
