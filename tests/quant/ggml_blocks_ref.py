#!/usr/bin/python3
"""ggml_blocks_ref.py — independent numpy dequantizers for the ggml block types.

Written from the GGUF / ggml block format definitions, separately from whale's C++. Every
value is computed with float32 numpy arithmetic in the order the format defines (for example
Q6_K is (d * scale) * q and Q4_1 is q * d + m), so the output must match the C++ reference
bit for bit.

Usage: ggml_blocks_ref.py dequant TYPE IN_BYTES OUT_F32
  reads whole blocks of TYPE from IN_BYTES and writes little-endian float32 values to OUT_F32.
"""
import json
import os
import sys

import numpy as np

F32 = np.float32
IQ4_LEVELS = np.array([-127, -104, -83, -65, -49, -35, -22, -10,
                       1, 13, 25, 38, 53, 69, 89, 113], dtype=np.int8)


def f16(col):
    """uint8 columns (little-endian pairs) -> float32 via numpy's float16 (exact)."""
    return np.ascontiguousarray(col).view('<f2').astype(F32).reshape(-1)


def blocks(raw, nbytes):
    assert raw.size % nbytes == 0, f"{raw.size} bytes is not a whole number of {nbytes}-byte blocks"
    return raw.reshape(-1, nbytes)


def split_nibbles(qs):
    """[nb, 16] bytes -> [nb, 32]: low nibbles are elements 0..15, high nibbles 16..31."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int32)


def q4_0(raw):
    b = blocks(raw, 18)
    d = f16(b[:, 0:2])[:, None]
    q = split_nibbles(b[:, 2:18]) - 8
    return q.astype(F32) * d


def q4_1(raw):
    b = blocks(raw, 20)
    d = f16(b[:, 0:2])[:, None]
    m = f16(b[:, 2:4])[:, None]
    q = split_nibbles(b[:, 4:20])
    return q.astype(F32) * d + m


def fifth_bits(qh_bytes):
    """[nb, 4] bytes of a little-endian u32 -> [nb, 32] bits (bit i belongs to element i)."""
    word = qh_bytes.astype(np.uint32)
    word = word[:, 0] | (word[:, 1] << 8) | (word[:, 2] << 16) | (word[:, 3] << 24)
    return ((word[:, None] >> np.arange(32, dtype=np.uint32)[None, :]) & 1).astype(np.int32)


def q5_0(raw):
    b = blocks(raw, 22)
    d = f16(b[:, 0:2])[:, None]
    q = split_nibbles(b[:, 6:22]) + 16 * fifth_bits(b[:, 2:6]) - 16
    return q.astype(F32) * d


def q5_1(raw):
    b = blocks(raw, 24)
    d = f16(b[:, 0:2])[:, None]
    m = f16(b[:, 2:4])[:, None]
    q = split_nibbles(b[:, 8:24]) + 16 * fifth_bits(b[:, 4:8])
    return q.astype(F32) * d + m


def q8_0(raw):
    b = blocks(raw, 34)
    d = f16(b[:, 0:2])[:, None]
    return b[:, 2:34].view(np.int8).astype(F32) * d


def q8_1(raw):
    b = blocks(raw, 36)
    d = f16(b[:, 0:2])[:, None]
    return b[:, 4:36].view(np.int8).astype(F32) * d


def two_bit_levels(qs):
    """Q2_K/Q3_K qs [nb, 64] -> [nb, 256] 2-bit values.

    Each half of 128 elements uses 32 bytes; the four 32-element quarters of a half are the
    bit pairs 0-1, 2-3, 4-5, 6-7 of those same 32 bytes.
    """
    out = np.empty((qs.shape[0], 256), dtype=np.int32)
    for half in range(2):
        src = qs[:, 32 * half:32 * half + 32].astype(np.int32)
        for quarter in range(4):
            start = 128 * half + 32 * quarter
            out[:, start:start + 32] = (src >> (2 * quarter)) & 3
    return out


def per16(v):
    """[nb, 16] per-sub-block values -> [nb, 256] by repeating each 16 times."""
    return np.repeat(v, 16, axis=1)


def q2_k(raw):
    b = blocks(raw, 84)
    sc = b[:, 0:16].astype(np.int32)
    q = two_bit_levels(b[:, 16:80])
    d = f16(b[:, 80:82])[:, None]
    dmin = f16(b[:, 82:84])[:, None]
    dl = d * (sc & 15).astype(F32)
    ml = dmin * (sc >> 4).astype(F32)
    return per16(dl) * q.astype(F32) - per16(ml)


def q3_k(raw):
    b = blocks(raw, 110)
    hmask = b[:, 0:32].astype(np.int32)
    low = two_bit_levels(b[:, 32:96])
    s = b[:, 96:108].astype(np.int32)
    d = f16(b[:, 108:110])[:, None]
    # 16 six-bit scales: low nibbles are bytes 0..7 (low nibble for scales 0..7, high nibble
    # for 8..15); high pairs come from bytes 8..11, scale j using byte 8 + j%4, bits 2*(j//4).
    scales = np.empty((b.shape[0], 16), dtype=np.int32)
    for j in range(16):
        lo4 = (s[:, j] & 15) if j < 8 else (s[:, j - 8] >> 4)
        hi2 = (s[:, 8 + j % 4] >> (2 * (j // 4))) & 3
        scales[:, j] = lo4 | (hi2 << 4)
    # high bit of element i: bit i//32 of hmask[i % 32]; a clear bit subtracts 4.
    idx = np.arange(256)
    hbit = (hmask[:, idx % 32] >> (idx // 32)) & 1
    q = low - 4 * (1 - hbit)
    dl = d * (scales - 32).astype(F32)
    return per16(dl) * q.astype(F32)


def k4_scales(s):
    """Q4_K/Q5_K 12 scale bytes [nb, 12] -> (scales [nb, 8], mins [nb, 8]) six-bit ints."""
    s = s.astype(np.int32)
    sc = np.empty((s.shape[0], 8), dtype=np.int32)
    mn = np.empty_like(sc)
    for j in range(8):
        if j < 4:
            sc[:, j] = s[:, j] & 63
            mn[:, j] = s[:, j + 4] & 63
        else:
            sc[:, j] = (s[:, j + 4] & 15) | ((s[:, j - 4] >> 6) << 4)
            mn[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    return sc, mn


def nibble_levels_k(qs):
    """Q4_K/Q5_K qs [nb, 128] -> [nb, 256]: each 64-element chunk uses 32 bytes, low nibbles
    for its first 32 elements and high nibbles for the next 32."""
    out = np.empty((qs.shape[0], 256), dtype=np.int32)
    for c in range(4):
        src = qs[:, 32 * c:32 * c + 32].astype(np.int32)
        out[:, 64 * c:64 * c + 32] = src & 15
        out[:, 64 * c + 32:64 * c + 64] = src >> 4
    return out


def k4_dequant(d, dmin, s, q):
    sc, mn = k4_scales(s)
    dl = np.repeat(d * sc.astype(F32), 32, axis=1)
    ml = np.repeat(dmin * mn.astype(F32), 32, axis=1)
    return dl * q.astype(F32) - ml


def q4_k(raw):
    b = blocks(raw, 144)
    d = f16(b[:, 0:2])[:, None]
    dmin = f16(b[:, 2:4])[:, None]
    return k4_dequant(d, dmin, b[:, 4:16], nibble_levels_k(b[:, 16:144]))


def q5_k(raw):
    b = blocks(raw, 176)
    d = f16(b[:, 0:2])[:, None]
    dmin = f16(b[:, 2:4])[:, None]
    qh = b[:, 16:48].astype(np.int32)
    idx = np.arange(256)
    fifth = (qh[:, idx % 32] >> (idx // 32)) & 1
    return k4_dequant(d, dmin, b[:, 4:16], nibble_levels_k(b[:, 48:176]) + 16 * fifth)


def q6_k(raw):
    b = blocks(raw, 210)
    ql = b[:, 0:128].astype(np.int32)
    qh = b[:, 128:192].astype(np.int32)
    sc = b[:, 192:208].view(np.int8).astype(F32)
    d = f16(b[:, 208:210])[:, None]
    q = np.empty((b.shape[0], 256), dtype=np.int32)
    for half in range(2):
        lo = ql[:, 64 * half:64 * half + 64]
        hi = qh[:, 32 * half:32 * half + 32]
        # quarters: 0 = low nibbles of lo[0:32], 1 = low of lo[32:64], 2 = high of lo[0:32],
        # 3 = high of lo[32:64]; high bits are pair `quarter` of hi.
        for quarter in range(4):
            part = lo[:, 32 * (quarter % 2):32 * (quarter % 2) + 32]
            nib = (part & 15) if quarter < 2 else (part >> 4)
            top = (hi >> (2 * quarter)) & 3
            start = 128 * half + 32 * quarter
            q[:, start:start + 32] = (nib | (top << 4)) - 32
    return per16(d * sc) * q.astype(F32)


def q8_k(raw):
    b = blocks(raw, 292)
    d = np.ascontiguousarray(b[:, 0:4]).view('<f4').astype(F32).reshape(-1, 1)
    return d * b[:, 4:260].view(np.int8).astype(F32)


def iq4_nl(raw):
    b = blocks(raw, 18)
    d = f16(b[:, 0:2])[:, None]
    return d * IQ4_LEVELS[split_nibbles(b[:, 2:18])].astype(F32)


def iq4_xs(raw):
    b = blocks(raw, 136)
    d = f16(b[:, 0:2])[:, None]
    sh = np.ascontiguousarray(b[:, 2:4]).view('<u2').astype(np.int32).reshape(-1)
    sl = b[:, 4:8].astype(np.int32)
    qs = b[:, 8:136]
    out = np.empty((b.shape[0], 256), dtype=F32)
    for ib in range(8):
        ls = ((sl[:, ib // 2] >> (4 * (ib % 2))) & 15) | (((sh >> (2 * ib)) & 3) << 4)
        dl = (d[:, 0] * (ls - 32).astype(F32))[:, None]
        vals = IQ4_LEVELS[split_nibbles(qs[:, 16 * ib:16 * ib + 16])].astype(F32)
        out[:, 32 * ib:32 * ib + 32] = dl * vals
    return out


_CODEBOOKS = {}


def codebook(name):
    """The IQ2_XXS ('iq2xxs', 256 x 8 magnitudes) or IQ1_S/IQ1_M ('iq1s', 2048 x 8 values in
    {-1, 0, 1}) codebook, as lists of coordinates in data/iq_codebooks.json."""
    if not _CODEBOOKS:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'iq_codebooks.json')
        with open(path) as f:
            _CODEBOOKS.update({k: np.array(v, dtype=np.int32) for k, v in json.load(f).items()})
    return _CODEBOOKS[name]


def u16_words(cols):
    return np.ascontiguousarray(cols).view('<u2').astype(np.uint32)


def bit_count(v, nbits):
    return sum((v >> k) & 1 for k in range(nbits))


def iq2_xxs(raw):
    """d f16; per sub-block of 32 two u32: 4 codebook indices (a byte each), then 4 x 7 sign
    bits and a 4-bit scale ls in bits 28-31. The 8th sign of a group makes its count of
    negative signs even. x = d * (0.5 + ls) * 0.25 * magnitude * sign."""
    b = blocks(raw, 66)
    d = f16(b[:, 0:2])
    words = np.ascontiguousarray(b[:, 2:66]).view('<u4').astype(np.uint64)  # [nb, 16]
    grid = codebook('iq2xxs')
    out = np.empty((b.shape[0], 8, 4, 8), dtype=F32)
    for ib in range(8):
        idx, aux = words[:, 2 * ib], words[:, 2 * ib + 1]
        db = d * (F32(0.5) + (aux >> 28).astype(F32)) * F32(0.25)
        for l in range(4):
            mag = grid[((idx >> (8 * l)) & 0xFF).astype(np.int64)].astype(F32)
            seven = (aux >> (7 * l)) & 127
            signs = seven | ((bit_count(seven, 7) & 1) << 7)
            neg = (signs[:, None] >> np.arange(8, dtype=np.uint64)[None, :]) & 1
            out[:, ib, l, :] = (db[:, None] * mag) * np.where(neg == 1, F32(-1), F32(1))
    return out


def iq1_values(idx, delta_negative):
    return codebook('iq1s')[idx.astype(np.int64)].astype(F32) + np.where(delta_negative, F32(-0.125), F32(0.125))[:, None]


def iq1_s(raw):
    """d f16, qs[32], u16 qh[8]: group l of sub-block ib indexes the 2048-entry codebook with
    qs[4 ib + l] | 3 bits of qh[ib] at 3l << 8; qh bits 12-14 = ls, bit 15 = negative shift.
    x = d * (2 ls + 1) * (value +- 1/8)."""
    b = blocks(raw, 50)
    d = f16(b[:, 0:2])
    qs = b[:, 2:34].astype(np.uint32)
    qh = u16_words(b[:, 34:50])
    out = np.empty((b.shape[0], 8, 4, 8), dtype=F32)
    for ib in range(8):
        h = qh[:, ib]
        dl = d * (2 * ((h >> 12) & 7) + 1).astype(F32)
        for l in range(4):
            idx = qs[:, 4 * ib + l] | (((h >> (3 * l)) & 7) << 8)
            out[:, ib, l, :] = dl[:, None] * iq1_values(idx, (h & 0x8000) != 0)
    return out


def iq1_m(raw):
    """qs[32], qh[16], 4 u16 scale words: 3-bit scale per 16 elements (word h // 4, bits
    3 (h % 4)), d's f16 bits in the words' top nibbles (word k -> bits 4k..4k+3); group g's
    nibble of qh[g // 2] (low for even g) = 3 index bits + negative-shift bit."""
    b = blocks(raw, 56)
    qs = b[:, 0:32].astype(np.uint32)
    qh = b[:, 32:48].astype(np.uint32)
    sc = u16_words(b[:, 48:56])
    d_bits = sum(((sc[:, k] >> 12) & 0xF) << (4 * k) for k in range(4)).astype(np.uint16)
    d = d_bits.view(np.float16).astype(F32)
    out = np.empty((b.shape[0], 32, 8), dtype=F32)
    for g in range(32):
        half = g // 2
        s = (sc[:, half // 4] >> (3 * (half % 4))) & 7
        dl = d * (2 * s + 1).astype(F32)
        nib = (qh[:, g // 2] >> (4 * (g % 2))) & 0xF
        out[:, g, :] = dl[:, None] * iq1_values(qs[:, g] | ((nib & 7) << 8), (nib & 8) != 0)
    return out


def f16_plain(raw):
    return raw.view('<f2').astype(F32)


def bf16_plain(raw):
    return (raw.view('<u2').astype(np.uint32) << 16).view(F32)


DEQUANT = {
    'F32': lambda raw: raw.view('<f4').astype(F32), 'F16': f16_plain, 'BF16': bf16_plain,
    'Q4_0': q4_0, 'Q4_1': q4_1, 'Q5_0': q5_0, 'Q5_1': q5_1, 'Q8_0': q8_0, 'Q8_1': q8_1,
    'Q2_K': q2_k, 'Q3_K': q3_k, 'Q4_K': q4_k, 'Q5_K': q5_k, 'Q6_K': q6_k, 'Q8_K': q8_k,
    'IQ4_NL': iq4_nl, 'IQ4_XS': iq4_xs, 'IQ2_XXS': iq2_xxs, 'IQ1_S': iq1_s, 'IQ1_M': iq1_m,
}


def main(argv):
    if len(argv) != 5 or argv[1] != 'dequant' or argv[2] not in DEQUANT:
        sys.stderr.write(__doc__)
        return 2
    raw = np.fromfile(argv[3], dtype=np.uint8)
    with np.errstate(over='ignore', invalid='ignore'):
        out = DEQUANT[argv[2]](raw)
    np.asarray(out, dtype='<f4').reshape(-1).tofile(argv[4])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
