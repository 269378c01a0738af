#!/usr/bin/python3
"""test_reference.py — self-test of the reference and the tiny-model generator.

  /usr/bin/python3 tests/reference/test_reference.py      (exit status nonzero on failure)

Generates the tiny models into a temporary folder, then checks that every stored form decodes
to the weights it should, that the forward passes agree across forms, layouts and attention
formulations, and that the routing is well-conditioned. Format, routing and RoPE unit checks
live in test_numerics.py and run here too.
"""
import glob
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_tiny_models  # noqa: E402
from fp8 import e4m3_decode  # noqa: E402
from gguf_io import GGML_F16, GGML_F32, GGML_Q8_0, read_gguf  # noqa: E402
from name_map import gguf_to_hf  # noqa: E402
from quants import q8_0_roundtrip  # noqa: E402
from ref_load import load_model  # noqa: E402
from ref_model import forward  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402
from test_numerics import *  # noqa: E402,F401,F403  (run the unit checks too)
from tiny_configs import MODELS  # noqa: E402

DEEPSEEK = [m for m, (_, arch) in MODELS.items() if arch == "deepseek2"]
ALL = list(MODELS)
OUT = None
_loaded = {}


def setUpModule():
    global OUT
    OUT = tempfile.mkdtemp(prefix="whale-tiny-")
    make_tiny_models.main(["--out", OUT, "--quiet"])


def tearDownModule():
    shutil.rmtree(OUT, ignore_errors=True)


def path(model, rel):
    return os.path.join(OUT, model, rel)


def tokens(model):
    with open(path(model, "tokens.json")) as f:
        return json.load(f)["tokens"]


def load(model, rel):
    key = (model, rel)
    if key not in _loaded:
        _loaded[key] = load_model(path(model, rel))
    return _loaded[key]


def gguf_layouts(model):
    if model in DEEPSEEK:
        return [f"{model}-f32.gguf", f"{model}-f32-kvb.gguf", f"{model}-f32-kvb-2d.gguf"]
    return [f"{model}-f32.gguf"]


def maxdiff(a, b):
    return float(np.max(np.abs(a - b)))


class FormsAgreeTest(unittest.TestCase):
    def test_gguf_f32_layouts_equal_hf(self):
        for m in ALL:
            cfg, w = load(m, "hf")
            ref = forward(cfg, w, tokens(m))
            for g in gguf_layouts(m):
                with self.subTest(model=m, file=g):
                    gcfg, gw = load(m, g)
                    self.assertEqual(set(gw), set(w))
                    for n in w:  # layout (c) rebuilds kv_b; llama q/k are un-permuted
                        np.testing.assert_array_equal(gw[n], w[n], err_msg=n)
                    self.assertLess(maxdiff(forward(cfg, gw, tokens(m)), ref), 1e-9)
                    # With the GGUF's own metadata (F32 floats: eps, yarn_log_multiplier,
                    # rope_freqs) the logits move only by float32 rounding of those values.
                    self.assertLess(maxdiff(forward(gcfg, gw, tokens(m)), ref), 1e-6)
                    for k, v in cfg.items():
                        if k in ("rope_scaling",) or k not in gcfg:
                            continue
                        if isinstance(v, float):
                            self.assertAlmostEqual(gcfg[k], v, delta=abs(v) * 1e-7, msg=k)
                        else:
                            self.assertEqual(gcfg[k], v, k)

    def test_bf16_folder_is_bf16_rounding(self):
        import torch
        for m in ALL:
            with self.subTest(model=m):
                cfg, w = load(m, "hf")
                bcfg, bw = load(m, "hf-bf16")
                st = read_safetensors(path(m, "hf-bf16/model.safetensors"))
                exp = {}
                for n, a in w.items():
                    if n.endswith("e_score_correction_bias"):
                        self.assertEqual(st[n][0], "F32")
                        exp[n] = a
                    else:
                        self.assertEqual(st[n][0], "BF16", n)
                        t = torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
                        exp[n] = t.to(torch.float64).numpy()
                    np.testing.assert_array_equal(bw[n], exp[n], err_msg=n)
                self.assertLess(maxdiff(forward(bcfg, bw, tokens(m)), forward(cfg, exp, tokens(m))), 1e-12)

    def test_fp8_folder(self):
        for m in DEEPSEEK:
            with self.subTest(model=m):
                cfg, w = load(m, "hf")
                with open(path(m, "hf-fp8/config.json")) as f:
                    qc = json.load(f)["quantization_config"]
                self.assertEqual(qc, {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                      "weight_block_size": [128, 128]})
                st = read_safetensors(path(m, "hf-fp8/model.safetensors"))
                exp = {}
                n_fp8 = 0
                for n, a in w.items():
                    dt, raw = st[n]
                    rest = n.split(".", 3)[-1] if n.startswith("model.layers.") else ""
                    linear = n.startswith("model.layers.") and (
                        rest.startswith("self_attn.") or ".experts." in n or ".shared_experts." in n
                        or rest in ("mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")
                    ) and raw.ndim == 2
                    if linear:
                        n_fp8 += 1
                        self.assertEqual(dt, "F8_E4M3", n)
                        sdt, s = st[n + "_scale_inv"]
                        self.assertEqual(sdt, "F32")
                        r, c = a.shape
                        self.assertEqual(s.shape, (math.ceil(r / 128), math.ceil(c / 128)), n)
                        big = np.repeat(np.repeat(s, 128, 0), 128, 1)[:r, :c]
                        deq = e4m3_decode(raw) * big
                        # every block's largest magnitude is stored as +-448 (code 0x7E/0xFE)
                        self.assertEqual(int(np.max(raw & 0x7F)), 0x7E)
                        np.testing.assert_array_less(np.abs(deq - a), np.abs(a) / 16 + big / 1024 + 1e-30)
                        exp[n] = deq
                    else:
                        self.assertNotEqual(dt, "F8_E4M3", n)
                        self.assertNotIn(n + "_scale_inv", st)
                        exp[n] = raw
                self.assertGreater(n_fp8, 20)
                fcfg, fw = load(m, "hf-fp8")
                self.assertLess(maxdiff(forward(fcfg, fw, tokens(m)), forward(cfg, exp, tokens(m))), 1e-12)

    def test_f16_and_q8_0_gguf(self):
        for m in ALL:
            meta32, t32, _ = read_gguf(path(m, f"{m}-f32.gguf"))
            for ftype in ("f16", "q8_0"):
                with self.subTest(model=m, ftype=ftype):
                    meta, t, types = read_gguf(path(m, f"{m}-{ftype}.gguf"))
                    self.assertEqual(set(t), set(t32))
                    n_quant = 0
                    wants = {}
                    for n, a32 in t32.items():
                        small = a32.ndim < 2 or n.endswith("ffn_gate_inp.weight")
                        if ftype == "f16":
                            want_t = GGML_F32 if small else GGML_F16
                            want = a32 if small else a32.astype(np.float16).astype(np.float64)
                        else:
                            q = not small and a32.shape[-1] % 32 == 0
                            want_t = GGML_Q8_0 if q else GGML_F32
                            want = q8_0_roundtrip(a32) if q else a32
                        n_quant += want_t != GGML_F32
                        self.assertEqual(types[n], want_t, n)
                        np.testing.assert_array_equal(t[n], want, err_msg=n)
                        wants[n] = want
                    self.assertGreater(n_quant, 5)
                    # logits of the file == logits of the F32 model with these decoded weights
                    gcfg, gw = load(m, f"{m}-{ftype}.gguf")
                    cfg32, _ = load(m, f"{m}-f32.gguf")
                    alt = gguf_to_hf(wants, cfg32)  # the F32 model's tensors, re-rounded here
                    self.assertLess(maxdiff(forward(gcfg, gw, tokens(m)), forward(cfg32, alt, tokens(m))), 1e-12)
        # V2-Lite-tiny's attn_output rows (120) are not a multiple of 32: F32 inside a Q8_0 file.
        _, _, types = read_gguf(path("deepseek-v2-lite-tiny", "deepseek-v2-lite-tiny-q8_0.gguf"))
        self.assertEqual(types["blk.0.attn_output.weight"], GGML_F32)


class AttentionFormsTest(unittest.TestCase):
    def test_mla_absorbed_equals_naive(self):
        for m in DEEPSEEK:
            with self.subTest(model=m):
                cfg, w = load(m, "hf")
                naive = forward(cfg, w, tokens(m))
                self.assertLess(maxdiff(forward(cfg, w, tokens(m), absorbed=True), naive), 1e-9)

    def test_prefill_equals_stepwise(self):
        from deepseek_ref import run
        for m in ALL:
            cfg, w = load(m, "hf")
            full, tr_full, h_full = run(cfg, w, tokens(m))
            for absorbed in ([False, True] if m in DEEPSEEK else [False]):
                with self.subTest(model=m, absorbed=absorbed):
                    step, tr_step, h_step = run(cfg, w, tokens(m), absorbed=absorbed, stepwise=True)
                    self.assertLess(maxdiff(step, full), 1e-9)
                    self.assertLess(maxdiff(h_step, h_full), 1e-9)
                    for layer in tr_full:
                        np.testing.assert_array_equal(tr_step[layer][0], tr_full[layer][0])


class ModelShapeTest(unittest.TestCase):
    def test_logits_not_degenerate(self):
        for m in ALL:
            with self.subTest(model=m):
                cfg, w = load(m, "hf")
                lg = np.load(path(m, "logits/hf.npy"))
                self.assertEqual(lg.shape, (len(tokens(m)), cfg["vocab_size"]))
                self.assertEqual(lg.dtype, np.float32)
                self.assertTrue(1.0 < lg.std() < 10.0)
                self.assertGreater(len(set(lg.argmax(1).tolist())), len(lg) // 2)
                np.testing.assert_allclose(lg, forward(cfg, w, tokens(m)), rtol=1e-6, atol=1e-5)

    def test_hf_config_fields(self):
        need = {"deepseek2": ["architectures", "model_type", "vocab_size", "hidden_size",
                              "intermediate_size", "moe_intermediate_size", "num_hidden_layers",
                              "num_attention_heads", "num_key_value_heads", "n_shared_experts",
                              "n_routed_experts", "routed_scaling_factor", "kv_lora_rank",
                              "q_lora_rank", "qk_rope_head_dim", "v_head_dim", "qk_nope_head_dim",
                              "topk_method", "n_group", "topk_group", "num_experts_per_tok",
                              "moe_layer_freq", "first_k_dense_replace", "norm_topk_prob",
                              "scoring_func", "max_position_embeddings", "rms_norm_eps",
                              "rope_theta", "rope_scaling", "tie_word_embeddings",
                              "bos_token_id", "eos_token_id"],
                "qwen2": ["architectures", "model_type", "num_key_value_heads", "rope_theta"],
                "llama": ["architectures", "model_type", "num_key_value_heads", "rope_scaling"]}
        for m, (_, arch) in MODELS.items():
            for folder in ("hf", "hf-bf16") + (("hf-fp8",) if arch == "deepseek2" else ()):
                with open(path(m, folder + "/config.json")) as f:
                    j = json.load(f)
                for k in need[arch]:
                    self.assertIn(k, j, f"{m}/{folder}: {k}")
                self.assertTrue(os.path.exists(path(m, folder + "/generation_config.json")))
        with open(path("deepseek-v3-tiny", "hf/config.json")) as f:
            j = json.load(f)
        self.assertEqual((j["model_type"], j["architectures"], j["num_nextn_predict_layers"]),
                         ("deepseek_v3", ["DeepseekV3ForCausalLM"], 1))

    def test_prompt_longer_than_yarn_window(self):
        for m in ALL:
            cfg, _ = load(m, "hf")
            rs = cfg.get("rope_scaling") or {}
            self.assertGreater(len(tokens(m)), rs.get("original_max_position_embeddings", 0))
            self.assertGreaterEqual(len(tokens(m)), 40)

    def test_routing_well_conditioned(self):
        for m in DEEPSEEK:
            cfg, _ = load(m, "hf")
            with open(path(m, "experts.json")) as f:
                ex = json.load(f)
            self.assertEqual(ex["moe_layers"], [1, 2])
            k, E, G = cfg["num_experts_per_tok"], cfg["n_routed_experts"], cfg["n_group"]
            for layer, rows in ex["experts"].items():
                self.assertEqual(len(rows), len(tokens(m)))
                for ids in rows:
                    self.assertEqual(len(set(ids)), k)
                    self.assertTrue(all(0 <= i < E for i in ids))
                    self.assertLessEqual(len({i // (E // G) for i in ids}), cfg["topk_group"])
            for fn in glob.glob(path(m, "experts/*.json")):
                with open(fn) as f:
                    for layer, margin in json.load(f)["min_margin"].items():
                        self.assertGreater(margin, 1e-3, f"{fn} layer {layer}")

    def test_gguf_layout_metadata(self):
        m = "deepseek-v3-tiny"
        cfg, _ = load(m, "hf")
        H, c, nope, vd = 4, 64, 32, 24
        meta, t, _ = read_gguf(path(m, f"{m}-f32.gguf"))
        a = "deepseek2."
        self.assertEqual((meta[a + "block_count"], meta[a + "nextn_predict_layers"]), (4, 1))
        self.assertEqual((meta[a + "attention.head_count_kv"], meta[a + "attention.key_length"],
                          meta[a + "attention.value_length"], meta[a + "attention.key_length_mla"],
                          meta[a + "attention.value_length_mla"]), (1, c + 16, c, nope + 16, vd))
        self.assertEqual(meta[a + "expert_gating_func"], 2)
        self.assertIs(meta[a + "expert_weights_norm"], True)
        self.assertAlmostEqual(meta[a + "rope.scaling.yarn_log_multiplier"], 0.1, places=7)
        self.assertEqual(meta["tokenizer.ggml.model"], "gpt2")
        self.assertEqual(len(meta["tokenizer.ggml.tokens"]), cfg["vocab_size"])
        self.assertNotIn("blk.1.attn_kv_b.weight", t)
        self.assertEqual(t["blk.1.attn_k_b.weight"].shape, (H, c, nope))
        self.assertEqual(t["blk.1.attn_v_b.weight"].shape, (H, vd, c))
        self.assertEqual(t["blk.1.ffn_gate_exps.weight"].shape, (16, 64, 160))
        self.assertEqual(t["blk.1.ffn_down_exps.weight"].shape, (16, 160, 64))
        self.assertEqual(t["blk.1.exp_probs_b.bias"].shape, (16,))
        for n in ("eh_proj", "enorm", "hnorm", "shared_head_head", "shared_head_norm", "embed_tokens"):
            self.assertIn(f"blk.3.nextn.{n}.weight", t)
        self.assertIn("blk.3.ffn_gate_exps.weight", t)
        meta, t, _ = read_gguf(path(m, f"{m}-f32-kvb-2d.gguf"))
        self.assertEqual(meta[a + "attention.head_count_kv"], H)
        self.assertEqual(meta[a + "attention.key_length"], nope + 16)
        self.assertNotIn(a + "attention.key_length_mla", meta)
        self.assertEqual(t["blk.0.attn_kv_b.weight"].shape, (H * (nope + vd), c))
        self.assertEqual(t["blk.0.attn_k_b.weight"].shape, (H * c, nope))
        self.assertEqual(t["blk.0.attn_v_b.weight"].shape, (H * vd, c))
        meta, t, _ = read_gguf(path(m, f"{m}-f32-kvb.gguf"))
        self.assertNotIn("blk.0.attn_k_b.weight", t)
        # V2: softmax gating, no bias tensor, no q_lora key for V2-Lite
        meta, t, _ = read_gguf(path("deepseek-v2-lite-tiny", "deepseek-v2-lite-tiny-f32.gguf"))
        self.assertEqual(meta[a + "expert_gating_func"], 1)
        self.assertNotIn(a + "attention.q_lora_rank", meta)
        self.assertIn("blk.1.attn_q.weight", t)
        self.assertFalse(any("exp_probs_b" in n for n in t))
        # llama: rope_freqs, permuted q/k
        meta, t, _ = read_gguf(path("llama3-tiny", "llama3-tiny-f32.gguf"))
        self.assertEqual(t["rope_freqs.weight"].shape, (16,))
        self.assertEqual(float(t["rope_freqs.weight"][0]), 1.0)
        self.assertEqual(float(t["rope_freqs.weight"][-1]), 8.0)
        _, w = load("llama3-tiny", "hf")
        self.assertFalse(np.array_equal(t["blk.0.attn_q.weight"], w["model.layers.0.self_attn.q_proj.weight"]))
        _, t, _ = read_gguf(path("qwen2-tiny", "qwen2-tiny-f32.gguf"))
        _, w = load("qwen2-tiny", "hf")
        np.testing.assert_array_equal(t["blk.0.attn_q.weight"], w["model.layers.0.self_attn.q_proj.weight"])
        self.assertIn("blk.0.attn_k.bias", t)


class CliTest(unittest.TestCase):
    def test_cli_matches_stored_logits(self):
        m = "deepseek-v3-tiny"
        with tempfile.TemporaryDirectory() as d:
            out, ex, hid = (os.path.join(d, x) for x in ("l.npy", "e.json", "h.npy"))
            toks = ",".join(str(t) for t in tokens(m))
            subprocess.run([sys.executable, os.path.join(HERE, "deepseek_ref.py"), "--model",
                            path(m, f"{m}-q8_0.gguf"), "--tokens", toks, "--out", out,
                            "--experts-out", ex, "--hidden-out", hid], check=True)
            np.testing.assert_array_equal(np.load(out), np.load(path(m, f"logits/{m}-q8_0.npy")))
            self.assertEqual(np.load(hid).shape, (4, len(tokens(m)), 160))
            with open(ex) as f, open(path(m, f"experts/{m}-q8_0.json")) as g:
                self.assertEqual(json.load(f)["experts"], json.load(g)["experts"])

    def test_generation_is_deterministic(self):
        def digest(root):
            h = hashlib.sha256()
            for fn in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
                if os.path.isfile(fn):
                    h.update(os.path.relpath(fn, root).encode())
                    with open(fn, "rb") as f:
                        h.update(f.read())
            return h.hexdigest()
        m = "deepseek-v2-lite-tiny"
        with tempfile.TemporaryDirectory() as d:
            make_tiny_models.main(["--out", d, "--models", m, "--quiet"])
            self.assertEqual(digest(os.path.join(d, m)), digest(path(m, "")))


if __name__ == "__main__":
    unittest.main()
