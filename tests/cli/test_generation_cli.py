#!/usr/bin/env python3
"""test_generation_cli.py — end-to-end checks of `whale run`, `whale chat` and `whale perplexity`
on the random-weight demo model (DeepSeek-V3-shaped, byte-level vocabulary, R1-style template).

Run: test_generation_cli.py WHALE MAKE_DEMO_MODEL SCRATCH_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import time
import unittest

WHALE, MAKE_DEMO, SCRATCH = sys.argv[1], sys.argv[2], sys.argv[3]
MODEL = os.path.join(SCRATCH, "demo.gguf")


def whale(*args, input=None, check=True):
    r = subprocess.run([WHALE, *args], input=input, capture_output=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"whale {' '.join(args)} failed ({r.returncode}): {r.stderr.decode(errors='replace')}")
    return r


class RunTest(unittest.TestCase):
    def test_same_seed_same_text_and_json_schema(self):
        a = json.loads(whale("run", "-m", MODEL, "-p", "What is 2+2?", "-n", "40", "--seed", "7", "--json").stdout)
        b = json.loads(whale("run", "-m", MODEL, "-p", "What is 2+2?", "-n", "40", "--seed", "7", "--json").stdout)
        c = json.loads(whale("run", "-m", MODEL, "-p", "What is 2+2?", "-n", "40", "--seed", "8", "--json").stdout)
        for key in ("thinking", "answer", "finish_reason", "usage", "timings", "seed"):
            self.assertIn(key, a)
        for key in ("prompt_tokens", "completion_tokens", "reasoning_tokens"):
            self.assertIsInstance(a["usage"][key], int)
        self.assertEqual((a["thinking"], a["answer"]), (b["thinking"], b["answer"]))
        self.assertNotEqual((a["thinking"], a["answer"]), (c["thinking"], c["answer"]))
        self.assertEqual(a["seed"], 7)
        self.assertLessEqual(a["usage"]["completion_tokens"], 40)
        self.assertIn(a["finish_reason"], ("stop", "length"))
        # The prompt is the template's rendering: BOS, <｜User｜>, 12 bytes, <｜Assistant｜>,
        # <think>, "\n" — 17 tokens in the byte-level vocabulary.
        self.assertEqual(a["usage"]["prompt_tokens"], 17)

    def test_stdin_prompt_equals_flag_prompt(self):
        a = whale("run", "-m", MODEL, "-n", "20", "--seed", "3", "--json", input=b"Hello there").stdout
        b = whale("run", "-m", MODEL, "-p", "Hello there", "-n", "20", "--seed", "3", "--json").stdout
        self.assertEqual(json.loads(a)["answer"], json.loads(b)["answer"])

    def test_context_exhaustion_is_stated(self):
        # --ignore-eos: the random demo model may sample its end token before the context is full.
        r = json.loads(whale("run", "-m", MODEL, "-p", "hi", "-n", "1000", "--ctx", "24", "--ignore-eos",
                             "--json").stdout)
        self.assertEqual(r["finish_reason"], "context")
        r = whale("run", "-m", MODEL, "-p", "x" * 100, "--ctx", "24", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"context", r.stderr)

    def test_stats_line_and_raw(self):
        r = whale("run", "-m", MODEL, "-p", "abc", "--raw", "-n", "5", "--seed", "1")
        self.assertRegex(r.stderr.decode(), r"prompt 4 tokens .* generated \d+ tokens .* first token")

    def test_max_thinking_closes_the_think_section(self):
        # The demo's template opens <think>; after 5 thinking tokens whale feeds "\n</think>\n\n"
        # (at most 3 more tokens counted as thinking) and the rest is answer.
        r = json.loads(whale("run", "-m", MODEL, "-p", "hi", "-n", "30", "--seed", "5", "--ignore-eos",
                             "--max-thinking", "5", "--logit-bias", "261=-inf", "--json").stdout)
        self.assertLessEqual(r["usage"]["reasoning_tokens"], 8)
        self.assertGreaterEqual(r["usage"]["reasoning_tokens"], 5)
        self.assertEqual(r["usage"]["completion_tokens"], 30)
        self.assertGreater(len(r["answer"]), 0)

    def test_logit_bias_forces_a_token(self):
        # Token 65 is the byte 'A' in the demo's byte-level vocabulary.
        r = json.loads(whale("run", "-m", MODEL, "-p", "hi", "--raw", "-n", "6", "--seed", "2",
                             "--logit-bias", "65=1000", "--json").stdout)
        self.assertEqual(r["answer"], "AAAAAA")
        bad = whale("run", "-m", MODEL, "-p", "hi", "--logit-bias", "x=1", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn(b"--logit-bias", bad.stderr)

    def test_bad_sampling_value_names_the_parameter(self):
        r = whale("run", "-m", MODEL, "-p", "hi", "--top-p", "0", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"top_p", r.stderr)


class PerplexityTest(unittest.TestCase):
    def test_reports_perplexity_with_error(self):
        text = os.path.join(SCRATCH, "text.txt")
        with open(text, "w") as f:
            f.write("The quick brown fox jumps over the lazy dog. " * 20)
        out = whale("perplexity", "-m", MODEL, "-f", text, "--ctx", "128").stdout.decode()
        self.assertRegex(out, r"perplexity [0-9.]+ \+/- [0-9.]+ over \d+ scored tokens in \d+ windows")
        ppl = float(out.split()[1])
        # A random model over a 262-token vocabulary: far from perfect, near-uniform at worst.
        self.assertGreater(ppl, 1.0)
        self.assertLess(ppl, 262 * 20)


@unittest.skipIf(shutil.which("tmux") is None, "tmux is not installed")
class ChatTest(unittest.TestCase):
    def test_two_turns_and_ctrl_c(self):
        session = f"whale-chat-{os.getpid()}"
        cmd = f"{WHALE} chat -m {MODEL} --seed 1 -n 100000 --ctx 8192 --ignore-eos"
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", cmd], check=True)
        try:
            # -J joins wrapped lines: " [stopped]" printed at the right edge would be split.
            def screen():
                return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", session, "-S", "-"],
                                      capture_output=True, text=True).stdout

            def wait_for(pred, seconds=60):
                end = time.time() + seconds
                while time.time() < end:
                    if pred(screen()):
                        return True
                    time.sleep(0.1)
                return False

            self.assertTrue(wait_for(lambda s: ">>>" in s), screen())
            subprocess.run(["tmux", "send-keys", "-t", session, "first question", "Enter"], check=True)
            time.sleep(0.3)
            subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)
            self.assertTrue(wait_for(lambda s: "[stopped]" in s and s.count(">>>") >= 2), screen())
            subprocess.run(["tmux", "send-keys", "-t", session, "/reset", "Enter"], check=True)
            self.assertTrue(wait_for(lambda s: "(conversation cleared)" in s), screen())
            subprocess.run(["tmux", "send-keys", "-t", session, "second", "Enter"], check=True)
            time.sleep(0.3)
            subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)
            # Only what follows /reset: the first turn's output can be long enough to leave
            # the scrollback on a fast machine.
            self.assertTrue(wait_for(lambda s: "[stopped]" in s.split("(conversation cleared)")[-1]),
                            screen())
            subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)  # at the prompt: stays
            self.assertTrue(wait_for(lambda s: "(use /exit or Ctrl-D to leave)" in s), screen())
            subprocess.run(["tmux", "send-keys", "-t", session, "/exit", "Enter"], check=True)
            self.assertTrue(wait_for(lambda s: "[exited]" in s or session not in subprocess.run(
                ["tmux", "ls"], capture_output=True, text=True).stdout, 20))
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


if __name__ == "__main__":
    os.makedirs(SCRATCH, exist_ok=True)
    subprocess.run([MAKE_DEMO, MODEL], check=True, capture_output=True)
    unittest.main(argv=[sys.argv[0], "-v"])
