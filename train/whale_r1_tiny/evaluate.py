"""evaluate.py — greedy accuracy of a checkpoint on the held-out set, per task and level.

  /usr/bin/python3 evaluate.py RUN_DIR CHECKPOINT NAME

Writes RUN_DIR/eval_NAME.json (the table) and RUN_DIR/replies_NAME.jsonl (every reply).
"""
import json
import os
import sys
import time

from common import deterministic, evaluate, load_model, load_tokenizer, write_json


def main():
    run, ckpt, name = sys.argv[1:4]
    deterministic(0)
    tok = load_tokenizer(run)
    model = load_model(run, ckpt, tok)
    with open(os.path.join(run, "eval.jsonl")) as f:
        problems = [json.loads(l) for l in f]
    t0 = time.time()
    table, replies = evaluate(model, tok, problems)
    write_json(os.path.join(run, f"eval_{name}.json"), table)
    with open(os.path.join(run, f"replies_{name}.jsonl"), "w") as f:
        for r in replies:
            f.write(json.dumps(r) + "\n")
    print(f"eval {name} ({time.time() - t0:.0f}s): " +
          ", ".join(f"{k} {v['accuracy']:.3f}" for k, v in table.items()), flush=True)


if __name__ == "__main__":
    main()
