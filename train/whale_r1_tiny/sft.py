"""sft.py — step 2: supervised fine-tuning on worked solutions in R1 format, with the MTP loss
and auxiliary-loss-free load balancing.

  /usr/bin/python3 sft.py RUN_DIR STEPS

Loss = CE(next token) + MTP_WEIGHT * CE(token after next, from the MTP module), both on the
assistant's reply only. After every step each MoE layer's routing bias moves by BIAS_RATE
towards balance: up for experts that got fewer tokens than the mean, down for the others.
Writes RUN_DIR/sft.pt and RUN_DIR/sft_log.csv, RUN_DIR/expert_load.csv.
"""
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

import tasks
from common import deterministic, encode_example, load_tokenizer, new_model, pad_right, write_csv
from model import init_weights, param_count

SEED = 1234
BATCH = 32
POOL = 16
LR = 3e-3
WARMUP = 100
MTP_WEIGHT = 0.3
BIAS_RATE = 1e-3
# Harder levels get more weight; levels the model finds easy still appear.
MIX = {("add", 1): 1, ("add", 2): 2, ("add", 3): 2,
       ("sub", 1): 1.5, ("sub", 2): 2, ("sub", 3): 2,
       ("mul", 1): 1.5, ("mul", 2): 3, ("mul", 3): 2.5,
       ("countdown", 1): 1, ("countdown", 2): 1, ("countdown", 3): 1}


def held_out(run):
    with open(os.path.join(run, "eval.jsonl")) as f:
        return {json.loads(l)["question"] for l in f}


def batches(tok, rng, banned):
    """Batches of similar length (a pool of POOL batches sorted by length, then shuffled):
    padding would otherwise cost about as much as the real tokens."""
    while True:
        pool = []
        while len(pool) < BATCH * POOL:
            p = tasks.make_problem(rng, *tasks.mixture(rng, MIX))
            if p["question"] not in banned:
                pool.append(encode_example(tok, p))
        pool.sort(key=lambda e: len(e[0]))
        chunks = [pool[i:i + BATCH] for i in range(0, len(pool), BATCH)]
        rng.shuffle(chunks)
        for c in chunks:
            yield [e[0] for e in c], [e[1] for e in c]


def balance(model):
    """Aux-loss-free balancing; returns per-layer max load / mean load (1.0 = perfect)."""
    out = []
    for moe in model.moe_layers():
        if moe.load is None:  # the MTP module does not run during GRPO
            continue
        load = moe.load.float()
        moe.gate.e_score_correction_bias += BIAS_RATE * torch.sign(load.mean() - load)
        out.append(float(load.max() / load.mean()))
    return out


def main():
    run, steps = sys.argv[1], int(sys.argv[2])
    deterministic(SEED)
    tok = load_tokenizer(run)
    model = new_model(tok)
    init_weights(model, SEED)
    print(f"parameters {param_count(model)}", flush=True)
    pad = 1
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.95), weight_decay=0.01)
    rng = random.Random(SEED)
    data = batches(tok, rng, held_out(run))
    log, loads = [], []
    t0 = time.time()
    model.train()
    for step in range(1, steps + 1):
        lr = LR * min(1.0, step / WARMUP) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        seqs, starts = next(data)
        x = pad_right(seqs, pad)
        B, T = x.shape
        idx = torch.arange(T)[None]
        lens = torch.tensor([len(s) for s in seqs])[:, None]
        st = torch.tensor(starts)[:, None]
        valid = idx < lens
        logits, mtp_logits = model(x, mtp=True, valid=valid)
        # Position t predicts token t+1 (main) and t+2 (MTP); train on the reply's tokens.
        tgt1 = (idx[:, 1:] >= st) & (idx[:, 1:] < lens)
        main = F.cross_entropy(logits[:, :-1][tgt1], x[:, 1:][tgt1])
        tgt2 = (idx[:, 2:] >= st) & (idx[:, 2:] < lens)
        mtp = F.cross_entropy(mtp_logits[:, :-1][tgt2], x[:, 2:][tgt2])
        loss = main + MTP_WEIGHT * mtp
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            ratios = balance(model)
        row = {"step": step, "loss": round(float(main), 5), "mtp_loss": round(float(mtp), 5),
               "lr": round(lr, 6), "grad_norm": round(float(gn), 4),
               "tokens": int(tgt1.sum()), "seconds": round(time.time() - t0, 1)}
        log.append(row)
        lrow = {"step": step}
        for li, (moe, r) in enumerate(zip(model.moe_layers(), ratios)):
            name = f"layer{li + 1}" if li < len(ratios) - 1 else "mtp"
            lrow[f"{name}_max_over_mean"] = round(r, 4)
            for e, n in enumerate(moe.load.tolist()):
                lrow[f"{name}_e{e}"] = n
        loads.append(lrow)
        if step % 25 == 0 or step == 1:
            print(f"sft {step}/{steps} loss {float(main):.4f} mtp {float(mtp):.4f} "
                  f"maxload {max(ratios):.2f} {time.time() - t0:.0f}s", flush=True)
    torch.save(model.state_dict(), os.path.join(run, "sft.pt"))
    write_csv(os.path.join(run, "sft_log.csv"), log)
    write_csv(os.path.join(run, "expert_load.csv"), loads)


if __name__ == "__main__":
    main()
