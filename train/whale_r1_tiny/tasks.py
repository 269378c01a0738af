"""tasks.py — the synthetic verifiable tasks: questions, worked solutions (R1 thinking), checks.

Every task is asked as a plain question and answered with a number (or, for Countdown, an
expression). The worked solutions are written so that a 4-layer model can execute them: every
step of addition and subtraction only needs digits that sit next to a marker on the line above
("the digit before '+'"), never "the k-th digit from the right of the question" (multiplication
is the exception, see mul_steps).

Addition state lines "A+B,c,R": A and B are what is left of the operands, c the carry, R the
result digits found so far; the line after each state is the column sum "a+b+c=s".
"""
import random

TASKS = ("add", "sub", "mul", "countdown")
LEVELS = (1, 2, 3)


def _digits(rng, n):
    """A random n-digit number (no leading zero)."""
    return rng.randint(10 ** (n - 1) if n > 1 else 0, 10 ** n - 1)


# ----------------------------------------------------------------------------- addition


def add_steps(a, b):
    """Column addition of two non-negative ints as text lines; returns (lines, result)."""
    A, B, c, R = str(a), str(b), 0, ""
    lines = [f"{A}+{B},{c},"]
    while A or B or c:
        x, y = (int(A[-1]) if A else 0), (int(B[-1]) if B else 0)
        s = x + y + c
        lines.append(f"{x}+{y}+{c}={s}")
        A, B, c, R = A[:-1], B[:-1], s // 10, str(s % 10) + R
        lines.append(f"{A}+{B},{c},{R}")
    return lines, int(R or "0")


def sub_steps(a, b):
    """Column subtraction a - b (a >= b >= 0); a borrowed column is written '1x-y-b'. Leading
    zeros of the result are dropped one per line ("-,0,07" then "-,0,7"), so that the answer is
    a copy of the last state line's result, not a search for its first non-zero digit."""
    assert a >= b >= 0
    A, B, w, R = str(a), str(b), 0, ""
    lines = [f"{A}-{B},{w},"]
    while A or B:
        x, y = (int(A[-1]) if A else 0), (int(B[-1]) if B else 0)
        if x - y - w < 0:
            lines.append(f"1{x}-{y}-{w}={10 + x - y - w}")
            d, w = 10 + x - y - w, 1
        else:
            lines.append(f"{x}-{y}-{w}={x - y - w}")
            d, w = x - y - w, 0
        A, B, R = A[:-1], B[:-1], str(d) + R
        lines.append(f"{A}-{B},{w},{R}")
    while len(R) > 1 and R[0] == "0":
        R = R[1:]
        lines.append(f"-,0,{R}")
    return lines, int(R)


def mul_steps(a, b):
    """a * b with b of one or two digits: one partial product per digit of b (digit by digit,
    with carries), then their column addition.

    This breaks the rule above (each column needs the k-th digit of a from the right, and the
    partial product is assembled from the last digits of earlier lines). Two formats that keep
    it were tried: state lines "A*d,c,R;T" with the column line "x*d+c=q+t=p" (each partial
    product added into the running total), and "x*d=m+c=p" with the partials added by the
    addition format. Both trained worse in the same 1300 SFT steps (2x2-digit multiplication
    12 % and 33 % greedy on 100 held-out problems, against 68.5 % with this one): their
    solutions are 1.2-1.7x longer, so more steps can go wrong, and the model more often
    ignored the carry."""
    A = str(a)
    lines, partials = [], []
    for place, d in enumerate(reversed(str(b))):
        d = int(d)
        c, R = 0, ""
        for x in reversed(A):
            p = int(x) * d + c
            lines.append(f"{x}*{d}+{c}={p}")
            c, R = p // 10, str(p % 10) + R
        if c:
            R = str(c) + R
        part = int(R) * 10 ** place
        lines.append(f"{a}*{d}{'0' * place}={part}")
        partials.append(part)
    total = partials[0]
    for p in partials[1:]:
        more, total = add_steps(total, p)
        lines += more
    return lines, total


# ----------------------------------------------------------------------------- Countdown


def _countdown_solutions(nums):
    """All (expression, value) from using every number once with + - * (left to right,
    parenthesised), positive intermediate results only."""
    out = []

    def rec(expr, val, rest):
        if not rest:
            out.append((expr, val))
            return
        for i, n in enumerate(rest):
            others = rest[:i] + rest[i + 1:]
            for op in "+-*":
                v = val + n if op == "+" else val - n if op == "-" else val * n
                if v <= 0:
                    continue
                e = f"({expr}){op}{n}" if any(o in expr for o in "+-*") else f"{expr}{op}{n}"
                rec(e, v, others)

    for i, n in enumerate(nums):
        rec(str(n), n, nums[:i] + nums[i + 1:])
    return out


def countdown_steps(nums, target):
    """The first solution in a fixed search order, shown as the chain of operations."""
    for expr, val in _countdown_solutions(nums):
        if val == target:
            return _countdown_chain(expr), expr
    return None, None


def _countdown_chain(expr):
    """'(3+7)*25' -> ['3+7=10', '10*25=250']: evaluate the left-to-right chain step by step."""
    toks, cur, num = [], None, ""
    for ch in expr.replace("(", "").replace(")", "") + "#":
        if ch.isdigit():
            num += ch
        else:
            toks.append(int(num))
            num = ""
            if ch != "#":
                toks.append(ch)
    lines, cur = [], toks[0]
    for i in range(1, len(toks), 2):
        op, n = toks[i], toks[i + 1]
        v = cur + n if op == "+" else cur - n if op == "-" else cur * n
        lines.append(f"{cur}{op}{n}={v}")
        cur = v
    return lines


def eval_expression(text):
    """Value of an expression of ints, + - * and parentheses; None if it is not one."""
    pos = 0
    s = text.replace(" ", "")

    def peek():
        return s[pos] if pos < len(s) else ""

    def number():
        nonlocal pos
        start = pos
        while peek().isdigit():
            pos += 1
        if start == pos:
            raise ValueError
        return int(s[start:pos]), [int(s[start:pos])]

    def atom():
        nonlocal pos
        if peek() == "(":
            pos += 1
            v = expr()
            if peek() != ")":
                raise ValueError
            pos += 1
            return v
        return number()

    def term():
        nonlocal pos
        v, ns = atom()
        while peek() == "*":
            pos += 1
            w, ms = atom()
            v, ns = v * w, ns + ms
        return v, ns

    def expr():
        nonlocal pos
        v, ns = term()
        while peek() in ("+", "-") and peek():
            op = s[pos]
            pos += 1
            w, ms = term()
            v, ns = (v + w if op == "+" else v - w), ns + ms
        return v, ns

    try:
        v, ns = expr()
    except (ValueError, RecursionError):
        return None
    if pos != len(s):
        return None
    return v, ns


# ----------------------------------------------------------------------------- problems


def make_problem(rng, task, level):
    """-> dict(task, level, question, answer, think) with `think` the worked solution lines."""
    if task == "add":
        n = {1: rng.choice([1, 2]), 2: 3, 3: 4}[level]
        m = {1: rng.choice([1, 2]), 2: 3, 3: rng.choice([3, 4])}[level]
        a, b = _digits(rng, n), _digits(rng, m)
        lines, r = add_steps(a, b)
        q = f"What is {a} + {b}?"
    elif task == "sub":
        n = {1: 2, 2: 3, 3: 4}[level]
        a, b = _digits(rng, n), _digits(rng, rng.randint(max(1, n - 1), n))
        a, b = max(a, b), min(a, b)
        lines, r = sub_steps(a, b)
        q = f"What is {a} - {b}?"
    elif task == "mul":
        n, m = {1: (2, 1), 2: (2, 2), 3: (3, 2)}[level]
        a, b = _digits(rng, n), _digits(rng, m)
        lines, r = mul_steps(a, b)
        q = f"What is {a} * {b}?"
    elif task == "countdown":
        k = {1: 2, 2: 3, 3: 3}[level]
        hi = {1: 10, 2: 10, 3: 25}[level]
        while True:
            nums = [rng.randint(2, hi) for _ in range(k)]
            sols = [v for _, v in _countdown_solutions(nums)]
            target = rng.choice(sols)
            if target >= 10 and target < 1000:
                break
        lines, r = countdown_steps(nums, target)
        listed = ", ".join(map(str, nums[:-1])) + f" and {nums[-1]}"
        q = f"Use {listed} to make {target}."
        return {"task": task, "level": level, "question": q, "answer": r, "think": lines,
                "numbers": nums, "target": target}
    else:
        raise ValueError(task)
    return {"task": task, "level": level, "question": q, "answer": str(r), "think": lines}


def solution_text(p):
    """The assistant's reply in R1 format, after the template's '<think>\\n'."""
    return "\n".join(p["think"]) + "\n</think>\n\n" + p["answer"]


def final_answer(reply):
    """The answer part of a generated reply: the text after '</think>', stripped."""
    if "</think>" not in reply:
        return None
    return reply.split("</think>", 1)[1].strip()


def is_correct(p, answer):
    """Whether `answer` (text) solves problem p."""
    if answer is None:
        return False
    if p["task"] != "countdown":
        return answer == p["answer"]
    got = eval_expression(answer)
    if got is None:
        return False
    v, used = got
    return v == p["target"] and sorted(used) == sorted(p["numbers"])


def mixture(rng, weights):
    """One (task, level) drawn from {(task, level): weight}."""
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def dataset(seed, n, weights):
    rng = random.Random(seed)
    return [make_problem(rng, *mixture(rng, weights)) for _ in range(n)]
