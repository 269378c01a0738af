#!/usr/bin/env python3
"""test_recipe.py — the whale-r1-tiny recipe's task generators, checker and tokenizer.

Worked solutions must reach the right answer (checked against Python's own arithmetic, and for
hand-worked examples line by line), the checker must accept right and refuse wrong answers, and
the shipped vocabulary must keep every digit a single token. Exit status 1 on failure.
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "train", "whale_r1_tiny"))
import bpe  # noqa: E402
import tasks  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


# Hand-worked column addition 387 + 456: 7+6=13, 8+5+1=14, 3+4+1=8 -> 843.
lines, r = tasks.add_steps(387, 456)
check(r == 843, f"387+456 gave {r}")
check(lines == ["387+456,0,", "7+6+0=13", "38+45,1,3", "8+5+1=14", "3+4,1,43", "3+4+1=8",
                "+,0,843"], f"387+456 lines {lines}")
# A final carry adds a column: 95 + 7 = 102.
check(tasks.add_steps(95, 7)[1] == 102, "95+7")
# Subtraction with borrows: 372 - 85: 12-5=7, 17-8-1=8, 3-0-1=2 -> 287.
lines, r = tasks.sub_steps(372, 85)
check(r == 287 and lines[1] == "12-5-0=7" and lines[3] == "17-8-1=8", f"372-85 {lines}")
# Leading zeros leave one per line: 45 - 38: 15-8=7, 4-3-1=0 -> "07" -> "7".
lines, r = tasks.sub_steps(45, 38)
check(r == 7 and lines[-2:] == ["-,0,07", "-,0,7"], f"45-38 {lines}")
check(tasks.sub_steps(7, 7) == (["7-7,0,", "7-7-0=0", "-,0,0"], 0), "7-7 keeps one 0")
# Multiplication 23 * 47: 23*7 = 161, 23*40 = 920, 161 + 920 = 1081.
lines, r = tasks.mul_steps(23, 47)
check(r == 1081 and "23*7=161" in lines and "23*40=920" in lines, f"23*47 {lines}")
rng = random.Random(3)
for _ in range(2000):
    a, b = rng.randint(0, 99999), rng.randint(0, 99999)
    check(tasks.add_steps(a, b)[1] == a + b, f"add {a} {b}")
    hi, lo = max(a, b), min(a, b)
    check(tasks.sub_steps(hi, lo)[1] == hi - lo, f"sub {hi} {lo}")
    check(tasks.mul_steps(a % 1000, b % 100)[1] == (a % 1000) * (b % 100), f"mul {a} {b}")

# Expressions: precedence, parentheses, and which numbers were used.
check(tasks.eval_expression("(25-7)*3") == (54, [25, 7, 3]), "(25-7)*3")
check(tasks.eval_expression("2+3*4") == (14, [2, 3, 4]), "2+3*4")
check(tasks.eval_expression("2+") is None and tasks.eval_expression("import os") is None, "junk")
p = {"task": "countdown", "numbers": [3, 7, 25], "target": 46}
check(tasks.is_correct(p, "3*7+25"), "3*7+25 makes 46")
check(not tasks.is_correct(p, "25+21"), "21 is not a given number")
check(not tasks.is_correct(p, "7*3+25+0"), "0 is not a given number")
check(not tasks.is_correct(p, "3*7+24"), "24 is not a given number")
q = {"task": "add", "answer": "843"}
check(tasks.is_correct(q, "843") and not tasks.is_correct(q, "842") and not tasks.is_correct(q, None),
      "number answers")
check(tasks.final_answer("a\n</think>\n\n843") == "843" and tasks.final_answer("843") is None,
      "final_answer")

# Every generated problem's worked solution is right by the checker.
for task in tasks.TASKS:
    for level in tasks.LEVELS:
        for _ in range(50):
            pr = tasks.make_problem(rng, task, level)
            check(tasks.is_correct(pr, pr["answer"]), f"{pr['question']} -> {pr['answer']}")

# The shipped tokenizer: digits are single tokens, the added tokens sit after the BPE ones,
# and encoding is reversible.
tj = json.load(open(os.path.join(ROOT, "models", "whale-r1-tiny", "hf", "tokenizer.json")))
vocab = tj["model"]["vocab"]
check(all(not any(c.isdigit() for c in t) or len(t) == 1 for t in vocab), "a token joins digits")
ids = sorted(a["id"] for a in tj["added_tokens"])
check(ids == list(range(len(vocab), len(vocab) + 6)), f"added token ids {ids}")
check({a["content"] for a in tj["added_tokens"]} == set(bpe.SPECIALS), "added tokens")
merges = [tuple(m.split(" ")) for m in tj["model"]["merges"]]
tok = bpe.Tokenizer(merges)
text = "<｜User｜>What is 12345 + 678?<｜Assistant｜><think>\n5+8+0=13\n</think>\n\n13023"
enc = tok.encode(text)
check(tok.decode(enc) == text, "decode(encode(text))")
check([tok.tokens[i] for i in tok.encode("12345")] == list("12345"), "12345 is five tokens")
check([tok.shipped_tokens()[tok.ship(i)] for i in enc] == [tok.tokens[i] for i in enc], "ship()")

for f in failures[:20]:
    print("FAIL", f)
print(f"test_recipe: {len(failures)} failures")
sys.exit(1 if failures else 0)
