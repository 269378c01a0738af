"""common.py — shared pieces of the recipe: determinism, prompts, batches, sampling, scoring."""
import csv
import json
import math
import os
import random

import torch

import bpe
import tasks
from model import CONFIG, TinyV3

HERE = os.path.dirname(os.path.abspath(__file__))
THREADS = 1  # 2 OpenMP threads on 2 shared cores spin-wait and run 5-10x slower

# The R1 chat template (DeepSeek-R1's own: the generation prompt opens the thinking block).
CHAT_TEMPLATE_FILE = os.path.join(HERE, "chat_template.jinja")


def deterministic(seed):
    torch.manual_seed(seed)
    random.seed(seed)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)


def prompt_text(question):
    """What the R1 template renders for one user message with add_generation_prompt."""
    return f"{bpe.BOS}{bpe.USER}{question}{bpe.ASSISTANT}{bpe.THINK}\n"


def load_tokenizer(run_dir):
    return bpe.Tokenizer.load(os.path.join(run_dir, "bpe_merges.json"))


def new_model(tok):
    c = dict(CONFIG)
    c["vocab_size"] = len(tok.tokens)
    return TinyV3(c)


def load_model(run_dir, name, tok):
    m = new_model(tok)
    m.load_state_dict(torch.load(os.path.join(run_dir, name)))
    m.eval()
    return m


def encode_example(tok, p):
    """-> (ids, first completion index)."""
    prompt = tok.encode(prompt_text(p["question"]))
    completion = tok.encode(tasks.solution_text(p) + bpe.EOS)
    return prompt + completion, len(prompt)


def pad_right(seqs, pad):
    T = max(len(s) for s in seqs)
    out = torch.full((len(seqs), T), pad, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s)
    return out


@torch.no_grad()
def generate(model, tok, prompts, max_new, temperature=0.0, gen=None):
    """Batched sampling with a KV cache. prompts: list of id lists (left-padded here).
    temperature 0 = greedy. Returns completions as id lists (cut after EOS, EOS included)."""
    eos = tok.id[bpe.EOS]
    B, P = len(prompts), max(len(p) for p in prompts)
    toks = torch.full((B, P), eos, dtype=torch.long)
    key_mask = torch.zeros(B, P, dtype=torch.bool)
    for i, p in enumerate(prompts):
        toks[i, P - len(p):] = torch.tensor(p)
        key_mask[i, P - len(p):] = True
    pos = (key_mask.long().cumsum(1) - 1).clamp(min=0)
    caches = [dict() for _ in model.layers]
    logits = model(toks, pos, key_mask, caches)[:, -1]
    next_pos = pos[:, -1] + 1
    out = [[] for _ in range(B)]
    done = torch.zeros(B, dtype=torch.bool)
    for _ in range(max_new):
        if temperature > 0:
            probs = torch.softmax(logits / temperature, -1)
            nxt = torch.multinomial(probs, 1, generator=gen)[:, 0]
        else:
            nxt = logits.argmax(-1)
        for i in range(B):
            if not done[i]:
                out[i].append(int(nxt[i]))
        done |= nxt == eos
        if bool(done.all()):
            break
        key_mask = torch.cat([key_mask, torch.ones(B, 1, dtype=torch.bool)], 1)
        logits = model(nxt[:, None], next_pos[:, None], key_mask, caches)[:, -1]
        next_pos = next_pos + 1
    return out


def reply_text(tok, ids):
    eos = tok.id[bpe.EOS]
    return tok.decode([i for i in ids if i != eos])


def max_new_tokens(tok, problems):
    """Room for the longest worked solution among these problems, plus slack."""
    return max(len(tok.encode(tasks.solution_text(p))) for p in problems) + 24


@torch.no_grad()
def evaluate(model, tok, problems, batch=128, temperature=0.0, gen=None):
    """Accuracy per (task, level), greedy by default; returns (table dict, per-problem replies).
    The table gives n, correct, accuracy and its standard error sqrt(p (1 - p) / n)."""
    model.eval()
    replies = []
    order = sorted(range(len(problems)), key=lambda i: (problems[i]["task"], problems[i]["level"]))
    got = {}
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        ps = [problems[i] for i in idx]
        outs = generate(model, tok, [tok.encode(prompt_text(p["question"])) for p in ps],
                        max_new_tokens(tok, ps), temperature, gen)
        for i, o in zip(idx, outs):
            got[i] = reply_text(tok, o)
    table = {}
    for i, p in enumerate(problems):
        ok = tasks.is_correct(p, tasks.final_answer(got[i]))
        key = f"{p['task']}-{p['level']}"
        n, c = table.get(key, (0, 0))
        table[key] = (n + 1, c + int(ok))
        replies.append({"question": p["question"], "reply": got[i], "correct": ok})
    return {k: {"n": n, "correct": c, "accuracy": c / n,
                "se": round(math.sqrt(c / n * (1 - c / n) / n), 4)}
            for k, (n, c) in sorted(table.items())}, replies


def write_csv(path, rows):
    if not rows:
        return
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
