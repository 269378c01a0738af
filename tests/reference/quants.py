"""quants.py — GGML Q8_0 written from its definition: blocks of 32 values along a row, each block
stored as an F16 scale d followed by 32 int8 q, value = d * q. d = amax/127 of the block."""
import numpy as np

QK8_0 = 32
Q8_0_BLOCK_BYTES = 2 + QK8_0


def q8_0_quantize(x):
    """float array (last dim a multiple of 32) -> raw Q8_0 bytes (row-major blocks)."""
    x = np.asarray(x, dtype=np.float32)
    assert x.shape[-1] % QK8_0 == 0, x.shape
    blocks = x.reshape(-1, QK8_0)
    amax = np.max(np.abs(blocks), axis=1)
    d = amax / np.float32(127.0)
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0).astype(np.float32)
    # Round half away from zero, the usual C roundf convention.
    scaled = blocks * inv[:, None]
    q = (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.int8)
    out = np.zeros((blocks.shape[0], Q8_0_BLOCK_BYTES), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).reshape(-1, 1).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def q8_0_dequantize(raw, n_elems):
    """raw Q8_0 bytes -> float64 flat array of n_elems values."""
    b = np.frombuffer(raw, dtype=np.uint8, count=(n_elems // QK8_0) * Q8_0_BLOCK_BYTES)
    b = b.reshape(-1, Q8_0_BLOCK_BYTES)
    d = b[:, :2].copy().view(np.float16).astype(np.float64).reshape(-1)
    q = b[:, 2:].copy().view(np.int8).astype(np.float64)
    return (d[:, None] * q).reshape(-1)


def q8_0_roundtrip(x):
    x = np.asarray(x, dtype=np.float32)
    return q8_0_dequantize(q8_0_quantize(x), x.size).reshape(x.shape)
