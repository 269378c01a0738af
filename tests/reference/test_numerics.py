"""test_numerics.py — unit checks of the number formats, routing and rotary rules, each against
hand-worked values or an implementation that does not share code with the one under test."""
import math
import os
import struct
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gguf_io as G  # noqa: E402
from fp8 import (bf16_bits, e4m3_decode, e4m3_encode, fp8_block_dequantize,  # noqa: E402
                 fp8_block_quantize, round_bf16)
from name_map import llama_permute, llama_unpermute  # noqa: E402
from quants import q8_0_dequantize, q8_0_quantize  # noqa: E402
from ref_model import (llama3_inv_freq, rope_half, rope_interleaved, route,  # noqa: E402
                       yarn_get_mscale, yarn_inv_freq)


class Fp8Test(unittest.TestCase):
    def test_encode_hand_codes(self):
        cases = [
            (448.0, 0x7E), (1.0, 0x38), (0.5, 0x30), (2.0 ** -9, 0x01), (-1.0, 0xB8),
            (0.0, 0x00), (-0.0, 0x80), (240.0, 0x77),  # 1.875 * 2^7: exp field 14, mantissa 7
            (2.0 ** -6, 0x08),  # smallest normal
            (7 * 2.0 ** -9, 0x07),  # largest subnormal
            (1.0625, 0x38),  # halfway 1.0 / 1.125 -> even mantissa 0
            (1.1875, 0x3A),  # halfway 1.125 / 1.25 -> even mantissa 2
            (2.0 ** -10, 0x00),  # halfway 0 / 2^-9 -> even (0)
            (3 * 2.0 ** -10, 0x02),  # halfway 2^-9 / 2^-8 -> even mantissa 2
            (1.05, 0x38), (1.07, 0x39), (-4.2, 0xC8), (-4.28, 0xC9),  # nearest: 1.0/1.125, -4/-4.5
            (464.0, 0x7E), (500.0, 0x7E), (1e9, 0x7E), (-1e9, 0xFE),  # saturate
            (math.inf, 0x7E), (-math.inf, 0xFE),
        ]
        for x, code in cases:
            with self.subTest(x=x):
                self.assertEqual(int(e4m3_encode(np.array([x]))[0]), code)
        self.assertEqual(int(e4m3_encode(np.array([math.nan]))[0]) & 0x7F, 0x7F)

    def test_decode_all_256(self):
        got = e4m3_decode(np.arange(256, dtype=np.uint8))
        for c in range(256):
            s, e, m = c >> 7, (c >> 3) & 15, c & 7
            if e == 15 and m == 7:
                self.assertTrue(math.isnan(got[c]), c)
                continue
            want = (m * 2.0 ** -9) if e == 0 else (1 + m / 8) * 2.0 ** (e - 7)
            self.assertEqual(got[c], -want if s else want, hex(c))

    def test_roundtrip_every_code(self):
        codes = np.array([c for c in range(256) if (c & 0x7F) != 0x7F], dtype=np.uint8)
        np.testing.assert_array_equal(e4m3_encode(e4m3_decode(codes)), codes)

    def test_encode_is_nearest(self):
        # Brute force: the nearest finite code by exhaustive search (ties: even mantissa).
        grid = e4m3_decode(np.arange(128, dtype=np.uint8))[:127]
        xs = np.random.default_rng(1).uniform(-460, 460, 4000) * np.random.default_rng(2).choice(
            [1, 1e-2, 1e-4], 4000)
        for x in xs:
            d = np.abs(grid - abs(x))
            best = np.flatnonzero(d == d.min())
            code = best[0] if len(best) == 1 else [b for b in best if b % 2 == 0][0]
            code |= 0x80 if x < 0 else 0
            self.assertEqual(int(e4m3_encode(np.array([x]))[0]), code, x)

    def test_block_quantize_partial_blocks(self):
        w = np.random.default_rng(3).standard_normal((200, 300)).astype(np.float32)
        w[150, 290] = 7.0  # the amax of block (1, 2)
        codes, s = fp8_block_quantize(w)
        self.assertEqual(s.shape, (2, 3))
        self.assertAlmostEqual(float(s[1, 2]), 7.0 / 448, places=9)
        self.assertEqual(codes[150, 290], 0x7E)
        deq = fp8_block_dequantize(codes, s)
        for i in range(2):
            for j in range(3):
                blk = np.s_[i * 128:(i + 1) * 128, j * 128:(j + 1) * 128]
                # E4M3 relative step is 2^-3, so the error is at most 2^-4 relative, or half the
                # subnormal quantum (2^-10 in code units) for tiny values.
                err = np.abs(deq[blk] - w[blk])
                bound = np.maximum(np.abs(w[blk]) * 2.0 ** -4, 2.0 ** -10 * s[i, j])
                self.assertTrue(np.all(err <= bound * (1 + 1e-9)))


class Bf16Test(unittest.TestCase):
    def test_against_torch(self):
        import torch
        x = np.random.default_rng(4).standard_normal(10000).astype(np.float32) * 10
        x[:4] = [1.00390625, 1.01171875, -3.0e38, 1e-40]  # ties and extremes
        want = torch.from_numpy(x).to(torch.bfloat16).to(torch.float32).numpy()
        np.testing.assert_array_equal(round_bf16(x), want)
        self.assertEqual(int(bf16_bits(np.array([1.0]))[0]), 0x3F80)


class Q8Test(unittest.TestCase):
    def test_hand_block(self):
        x = np.zeros(32, dtype=np.float32)
        x[0], x[1], x[2], x[3] = 12.7, -6.35, 0.05, 0.15  # d = 0.1
        raw = q8_0_quantize(x)
        self.assertEqual(len(raw), 34)
        d = struct.unpack("<e", raw[:2])[0]
        self.assertEqual(d, float(np.float16(0.1)))
        q = struct.unpack("<32b", raw[2:])
        # 0.05/0.1 = 0.5 rounds away from zero; 0.15/0.1 = 1.5 (in f32 slightly below) -> 1 or 2
        self.assertEqual(q[:3], (127, -64, 1))
        self.assertIn(q[3], (1, 2))
        self.assertEqual(q[4:], (0,) * 28)

    def test_dequantize_scalar(self):
        x = np.random.default_rng(5).standard_normal(32 * 7).astype(np.float32)
        raw = q8_0_quantize(x)
        want = []
        for b in range(7):
            blk = raw[b * 34:(b + 1) * 34]
            d = struct.unpack("<e", blk[:2])[0]
            want += [d * q for q in struct.unpack("<32b", blk[2:])]
        np.testing.assert_array_equal(q8_0_dequantize(raw, x.size), np.array(want))
        self.assertLess(np.max(np.abs(np.array(want) - x)), np.max(np.abs(x)) / 127 * 0.51 + 1e-3)


class GgufIoTest(unittest.TestCase):
    def test_roundtrip(self):
        a = np.arange(96, dtype=np.float32).reshape(3, 32) / 7
        b = np.arange(5, dtype=np.float32)
        kv = [("general.architecture", G.string("llama")), ("x.u", G.u32(7)), ("x.f", G.f32(0.5)),
              ("x.b", G.bool_(True)), ("x.s", G.arr(G.T_STR, ["a", "bc"])), ("x.i", G.arr(G.T_I32, [-1, 2]))]
        ts = [("ta", G.GGML_F16, *G.encode_tensor(a, G.GGML_F16)), ("b", G.GGML_F32, *G.encode_tensor(b, G.GGML_F32))]
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "t.gguf")
            G.write_gguf(p, kv, ts)
            with open(p, "rb") as f:
                data = f.read()
            meta, tensors, types = G.read_gguf(p)
        self.assertEqual(data[:4], b"GGUF")
        self.assertEqual(struct.unpack_from("<IQQ", data, 4), (3, 2, 6))
        self.assertEqual(meta["x.u"], 7)
        self.assertEqual(meta["x.s"], ["a", "bc"])
        self.assertEqual(meta["x.i"], [-1, 2])
        self.assertIs(meta["x.b"], True)
        self.assertEqual(tensors["ta"].shape, (3, 32))
        np.testing.assert_array_equal(tensors["ta"], a.astype(np.float16).astype(np.float64))
        np.testing.assert_array_equal(tensors["b"], b)
        self.assertEqual(types, {"ta": G.GGML_F16, "b": G.GGML_F32})
        # ne0 (innermost) is written first: find tensor "ta"'s dims in the header.
        i = data.index(b"\x02\x00\x00\x00\x00\x00\x00\x00ta")
        self.assertEqual(struct.unpack_from("<IQQI", data, i + 10), (2, 32, 3, G.GGML_F16))


def _cfg(**kw):
    c = {"num_experts_per_tok": 2, "n_group": 1, "topk_group": 1, "norm_topk_prob": False,
         "routed_scaling_factor": 1.0}
    c.update(kw)
    return c


def _logit(p):
    p = np.asarray(p, dtype=np.float64)
    return np.log(p / (1 - p))


class RoutingTest(unittest.TestCase):
    def test_v3_noaux_tc(self):
        # 8 experts in 4 groups of 2; keep 2 groups; choose 2. Sigmoid scores s, bias b.
        s = [0.90, 0.10, 0.50, 0.45, 0.60, 0.40, 0.30, 0.20]
        b = np.array([-0.5, 0, 0, 0, 0, 0, 0.35, 0.3])
        # biased:  0.40 0.10 | 0.50 0.45 | 0.60 0.40 | 0.65 0.50
        # group scores (sum of top two): 0.50, 0.95, 1.00, 1.15 -> keep groups 3, 2
        # candidates 4 (0.60), 5 (0.40), 6 (0.65), 7 (0.50) -> 6 then 4. Expert 0 (the highest
        # unbiased score) is dropped with its group.
        c = _cfg(scoring_func="sigmoid", topk_method="noaux_tc", n_group=4, topk_group=2,
                 norm_topk_prob=True, routed_scaling_factor=2.5)
        ids, w, margin = route(_logit([s]), c, b)
        self.assertEqual(ids.tolist(), [[6, 4]])
        # weights use the unbiased scores: 0.3, 0.6 -> normalised 1/3, 2/3 -> x2.5
        np.testing.assert_allclose(w, [[2.5 / 3, 2.5 * 2 / 3]], rtol=1e-12)
        self.assertAlmostEqual(float(margin[0]), 0.05, places=12)  # groups: 1.00 vs 0.95

    def test_ties_go_to_lower_index(self):
        c = _cfg(scoring_func="softmax", topk_method="greedy", num_experts_per_tok=3)
        ids, w, margin = route(np.zeros((1, 6)), c)
        self.assertEqual(ids.tolist(), [[0, 1, 2]])
        self.assertEqual(float(margin[0]), 0.0)
        c = _cfg(scoring_func="sigmoid", topk_method="noaux_tc", n_group=3, topk_group=1)
        ids, _, _ = route(np.zeros((1, 6)), c, np.zeros(6))
        self.assertEqual(ids.tolist(), [[0, 1]])  # all groups tie (sum 1.0): group 0 kept

    def test_v2_greedy_softmax(self):
        logits = np.log(np.array([[1.0, 4.0, 2.0, 3.0]]))  # softmax = 0.1, 0.4, 0.2, 0.3
        c = _cfg(scoring_func="softmax", topk_method="greedy", routed_scaling_factor=1.5)
        ids, w, margin = route(logits, c)
        self.assertEqual(ids.tolist(), [[1, 3]])
        np.testing.assert_allclose(w, [[0.6, 0.45]], rtol=1e-12)  # 0.4, 0.3 times 1.5
        self.assertAlmostEqual(float(margin[0]), 0.1, places=12)
        # norm_topk_prob: normalised and (DeepSeek-V2 code) not scaled.
        ids, w, _ = route(logits, dict(c, norm_topk_prob=True))
        np.testing.assert_allclose(w, [[4 / 7, 3 / 7]], rtol=1e-12)

    def test_v2_group_limited_greedy(self):
        # softmax scores (x 1/20): [6, 1 | 4, 4 | 5, 0.5 | 2, 2.5 | ...] over 8 experts, 4 groups.
        p = np.array([6, 1, 4, 4, 2, 0.5, 1.5, 1]) / 20
        # group max: 6, 4, 2, 1.5 -> keep groups 0, 1; candidates 6, 1, 4, 4 -> 0, then the tie
        # 2 vs 3 goes to the lower index 2. Greedy without groups would pick the same here, so
        # also check a case where groups matter below.
        c = _cfg(scoring_func="softmax", topk_method="group_limited_greedy", n_group=4,
                 topk_group=2, routed_scaling_factor=1.0)
        ids, w, margin = route(np.log(p)[None], c)
        self.assertEqual(ids.tolist(), [[0, 2]])
        np.testing.assert_allclose(w, [[0.30, 0.20]], rtol=1e-12)
        self.assertEqual(float(margin[0]), 0.0)  # the 2/3 tie is reported as zero margin
        # group max: 0.3 (g0), 0.2 (g1), 0.25 (g2), 0.05 (g3) -> keep g0, g2; second-best
        # overall (expert 3 in g1, 0.2) loses to expert 5 (g2, 0.15)... expert 4 (0.25) wins.
        p = np.array([0.30, 0.02, 0.10, 0.20, 0.25, 0.03, 0.05, 0.05])
        ids, w, margin = route(np.log(p)[None], dict(c, num_experts_per_tok=3))
        self.assertEqual(ids.tolist(), [[0, 4, 5]])  # greedy would give 0, 4, 3
        self.assertAlmostEqual(float(margin[0]), min(0.25 - 0.20, 0.03 - 0.02), places=12)

    def test_v3_group_sum_differs_from_max(self):
        # groups of 4; group 0 has one strong expert, group 1 two good ones: sum of top two
        # prefers group 1, max would prefer group 0.
        s = [0.95, 0.05, 0.05, 0.05, 0.60, 0.55, 0.05, 0.05]
        c = _cfg(scoring_func="sigmoid", topk_method="noaux_tc", n_group=2, topk_group=1,
                 norm_topk_prob=False, num_experts_per_tok=2)
        ids, w, _ = route(_logit([s]), c, np.zeros(8))
        self.assertEqual(ids.tolist(), [[4, 5]])
        np.testing.assert_allclose(w, [[0.60, 0.55]], rtol=1e-12)


class RopeTest(unittest.TestCase):
    def test_yarn_frequencies(self):
        rs = {"factor": 4, "original_max_position_embeddings": 16, "beta_fast": 32, "beta_slow": 1,
              "mscale": 1.0, "mscale_all_dim": 1.0}
        inv, mult = yarn_inv_freq(16, 10000.0, rs)
        # correction dims: 16*ln(16/(32*2pi))/(2 ln 1e4) = -2.20 -> floor -> clamp 0;
        # 16*ln(16/(2pi))/(2 ln 1e4) = 0.81 -> ceil 1. Ramp: i=0 -> 0 (keep), i>=1 -> 1 (divide).
        want = 1.0 / 10000.0 ** (np.arange(0, 16, 2) / 16)
        want[1:] /= 4
        np.testing.assert_allclose(inv, want, rtol=1e-15)
        self.assertEqual(mult, 1.0)
        self.assertAlmostEqual(yarn_get_mscale(40, 1.0), 0.1 * math.log(40) + 1, places=15)
        self.assertEqual(yarn_get_mscale(1.0, 1.0), 1.0)
        # a wider ramp: original 4096, dim 64, base 10000 -> low 10, high 23 (partial blend)
        rs2 = dict(rs, original_max_position_embeddings=4096, factor=40, mscale=0.707,
                   mscale_all_dim=1.0)
        inv2, mult2 = yarn_inv_freq(64, 10000.0, rs2)
        base = 1.0 / 10000.0 ** (np.arange(0, 64, 2) / 64)
        lo = math.floor(64 * math.log(4096 / (32 * 2 * math.pi)) / (2 * math.log(10000)))
        hi = math.ceil(64 * math.log(4096 / (2 * math.pi)) / (2 * math.log(10000)))
        self.assertEqual((lo, hi), (10, 23))
        i = 15
        r = (i - lo) / (hi - lo)
        self.assertAlmostEqual(inv2[i], base[i] / 40 * r + base[i] * (1 - r), places=15)
        self.assertEqual(inv2[5], base[5])
        self.assertAlmostEqual(inv2[30], base[30] / 40, places=18)
        self.assertAlmostEqual(mult2, (0.0707 * math.log(40) + 1) / (0.1 * math.log(40) + 1), places=14)

    def test_llama3_regimes(self):
        rs = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 32}
        inv = llama3_inv_freq(32, 500000.0, rs)
        base = 1.0 / 500000.0 ** (np.arange(0, 32, 2) / 32)
        self.assertEqual(inv[0], base[0])  # wavelength 2pi < 32/4: kept
        wl = 2 * math.pi / base[1]  # ~14.3, between 8 and 32: blended
        smooth = (32 / wl - 1) / 3
        self.assertAlmostEqual(inv[1], (1 - smooth) * base[1] / 8 + smooth * base[1], places=15)
        np.testing.assert_allclose(inv[2:], base[2:] / 8, rtol=1e-15)  # wavelength > 32

    def test_interleaved_vs_half_with_llama_permutation(self):
        # llama.cpp permutes q/k rows so that rotating interleaved pairs of the permuted
        # projection equals HF's rotate-half on the original (per head, up to the same
        # reordering of q and k, so attention scores agree).
        rng = np.random.default_rng(6)
        H, hd, D, T = 3, 8, 10, 5
        wq = rng.standard_normal((H * hd, D))
        wk = rng.standard_normal((H * hd, D))
        x = rng.standard_normal((T, D))
        pos = np.arange(T, dtype=np.float64) + 3
        inv = 1.0 / 100.0 ** (np.arange(0, hd, 2) / hd)
        q = rope_half((x @ wq.T).reshape(T, H, hd), pos, inv)
        k = rope_half((x @ wk.T).reshape(T, H, hd), pos, inv)
        qp = rope_interleaved((x @ llama_permute(wq, H).T).reshape(T, H, hd), pos, inv, 1.0)
        kp = rope_interleaved((x @ llama_permute(wk, H).T).reshape(T, H, hd), pos, inv, 1.0)
        np.testing.assert_allclose(np.einsum("thd,shd->hts", q, k),
                                   np.einsum("thd,shd->hts", qp, kp), rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(llama_unpermute(llama_permute(wq, H), H), wq)
        # the permutation itself: within a head, row a*hd/2 + b moves to 2*b + a
        p = llama_permute(np.arange(hd, dtype=np.float64)[:, None], 1)[:, 0]
        self.assertEqual(p.tolist(), [0, 4, 1, 5, 2, 6, 3, 7])

    def test_pairing_conventions(self):
        inv = np.array([1.0, 0.1])
        pos = np.array([2.0])
        x = np.array([[[1.0, 0.0, 0.0, 1.0]]])  # [T=1, H=1, d=4]
        # interleaved: pairs (0,1) with freq 1.0 and (2,3) with freq 0.1
        got = rope_interleaved(x, pos, inv, 1.0)[0, 0]
        np.testing.assert_allclose(got, [math.cos(2), math.sin(2), -math.sin(0.2), math.cos(0.2)], rtol=1e-15)
        # rotate-half: pairs (0,2) with freq 1.0 and (1,3) with freq 0.1
        got = rope_half(x, pos, inv)[0, 0]
        np.testing.assert_allclose(got, [math.cos(2), -math.sin(0.2), math.sin(2), math.cos(0.2)], rtol=1e-15)
        # the YaRN cos/sin multiplier scales the rotated vector
        got = rope_interleaved(x, pos, inv, 0.5)[0, 0]
        np.testing.assert_allclose(np.linalg.norm(got), 0.5 * math.sqrt(2), rtol=1e-15)
