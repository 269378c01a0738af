"""plots.py — step 5: the published training log: CSVs, PNG plots and the accuracy table.

  /usr/bin/python3 plots.py RUN_DIR OUT_DIR      (OUT_DIR = models/whale-r1-tiny/training)

Copies sft_log.csv, grpo_log.csv, expert_load.csv, eval_sft.json, eval_grpo.json and draws
loss.png (SFT next-token and MTP loss), grpo.png (reward, accuracy per task, response length,
KL to the SFT model, per GRPO step), expert_load.png (max / mean tokens per expert, per MoE
layer, over SFT: 1.0 is perfect balance) and accuracy.md (held-out greedy accuracy per task
and level, greedy and sampled, after SFT and after GRPO, with standard errors).
"""
import csv
import json
import os
import shutil
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from grpo import GROUP, PROMPTS  # noqa: E402


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def col(rows, name):
    return [float(r[name]) if r[name] != "" else float("nan") for r in rows]


def smooth(xs, k=20):
    out, acc = [], []
    for x in xs:
        acc.append(x)
        if len(acc) > k:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def main():
    run, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in ("sft_log.csv", "grpo_log.csv", "expert_load.csv", "eval_sft.json", "eval_grpo.json"):
        shutil.copy(os.path.join(run, name), os.path.join(out, name))

    sft = read_csv(os.path.join(run, "sft_log.csv"))
    steps = col(sft, "step")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, col(sft, "loss"), lw=0.5, alpha=0.4, color="C0")
    ax.plot(steps, smooth(col(sft, "loss")), color="C0", label="next token")
    ax.plot(steps, col(sft, "mtp_loss"), lw=0.5, alpha=0.4, color="C1")
    ax.plot(steps, smooth(col(sft, "mtp_loss")), color="C1", label="MTP (token after next)")
    ax.set_yscale("log")
    ax.set_xlabel("SFT step")
    ax.set_ylabel("cross-entropy on the reply (nats/token)")
    ax.set_title("whale-r1-tiny SFT")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "loss.png"), dpi=100)
    plt.close(fig)

    g = read_csv(os.path.join(run, "grpo_log.csv"))
    gs = col(g, "step")
    fig, axs = plt.subplots(2, 2, figsize=(10, 6.5))
    axs[0, 0].plot(gs, col(g, "reward"), lw=0.6, alpha=0.4, color="C0")
    axs[0, 0].plot(gs, smooth(col(g, "reward"), 10), color="C0")
    axs[0, 0].set_title("mean reward (1 correct + 0.1 format)")
    for i, t in enumerate(("add", "sub", "mul", "countdown")):
        axs[0, 1].plot(gs, smooth(col(g, f"accuracy_{t}"), 10), color=f"C{i}", label=t)
    axs[0, 1].plot(gs, smooth(col(g, "accuracy"), 10), color="k", label="all")
    axs[0, 1].set_title("sampled accuracy (10-step mean)")
    axs[0, 1].legend(fontsize=8)
    axs[1, 0].plot(gs, col(g, "response_tokens"), color="C2")
    axs[1, 0].set_title("mean response length (tokens)")
    axs[1, 0].set_xlabel("GRPO step")
    axs[1, 1].plot(gs, col(g, "kl"), color="C3")
    axs[1, 1].set_title("KL to the SFT model (k3, per token)")
    axs[1, 1].set_xlabel("GRPO step")
    fig.suptitle(f"whale-r1-tiny GRPO ({PROMPTS} questions x {GROUP} samples per step, temperature 1)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "grpo.png"), dpi=100)
    plt.close(fig)

    load = read_csv(os.path.join(run, "expert_load.csv"))
    ls = col(load, "step")
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, name in enumerate(k for k in load[0] if k.endswith("_max_over_mean")):
        ax.plot(ls, smooth(col(load, name)), color=f"C{i}", label=name.replace("_max_over_mean", ""))
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_xlabel("SFT step")
    ax.set_ylabel("max / mean tokens per expert")
    ax.set_title("expert load under auxiliary-loss-free balancing (20-step mean)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "expert_load.png"), dpi=100)
    plt.close(fig)

    before = json.load(open(os.path.join(run, "eval_sft.json")))
    after = json.load(open(os.path.join(run, "eval_grpo.json")))
    lines = accuracy_table(before["greedy"], after["greedy"], "greedy (temperature 0)")
    lines += [""] + accuracy_table(before["sampled"], after["sampled"],
                                   "sampled (temperature 1, mean over "
                                   f"{next(iter(before['sampled'].values()))['samples']} replies "
                                   "per problem), on the levels GRPO trains on")
    with open(os.path.join(out, "accuracy.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def accuracy_table(before, after, what):
    """Markdown rows: accuracy ± one standard error after SFT and after GRPO, and the change
    in units of the two errors combined (|z| >= 2: unlikely to be noise)."""
    lines = [f"Held-out accuracy, {what}:", "",
             "| task | level | problems | after SFT | after GRPO | change | z |",
             "|---|---|---|---|---|---|---|"]
    for key in before:
        t, lvl = key.rsplit("-", 1)
        b, a = before[key], after[key]
        se = (b["se"] ** 2 + a["se"] ** 2) ** 0.5
        d = a["accuracy"] - b["accuracy"]
        z = f"{d / se:+.1f}" if se > 0 else "–"
        lines.append(f"| {t} | {lvl} | {b['n']} | {100 * b['accuracy']:.1f} ± {100 * b['se']:.1f} % "
                     f"| {100 * a['accuracy']:.1f} ± {100 * a['se']:.1f} % | {100 * d:+.1f} | {z} |")
    return lines

if __name__ == "__main__":
    main()
