"""fp8.py — bit-exact number formats written by hand: FP8 E4M3 (the "FN" variant DeepSeek-V3
ships), BF16 and F16 rounding, and the 128x128 block quantisation of the official FP8 checkpoints.

E4M3FN: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities; only S.1111.111 is NaN, so
the largest finite value is S.1111.110 = 448. Exponent field 0 holds subnormals m/8 * 2^-6.
Encoding rounds to nearest, ties to even, and saturates finite values beyond 448 (and infinities)
to +-448, which is what the official checkpoints' converter does by clamping before the cast.
"""
import numpy as np

E4M3_MAX = 448.0
E4M3_NAN = 0x7F
FP8_BLOCK = 128


def e4m3_decode(codes):
    """uint8 codes -> float64 values (NaN for 0x7F / 0xFF)."""
    c = np.asarray(codes, dtype=np.uint8).astype(np.int64)
    sign = np.where(c & 0x80, -1.0, 1.0)
    exp = (c >> 3) & 0xF
    man = c & 0x7
    normal = (1.0 + man / 8.0) * np.exp2(exp - 7.0)
    sub = (man / 8.0) * 2.0 ** -6
    v = sign * np.where(exp == 0, sub, normal)
    return np.where((c & 0x7F) == 0x7F, np.nan, v)


def e4m3_encode(x):
    """float values -> uint8 codes, round-to-nearest-even, saturating at +-448."""
    x = np.asarray(x, dtype=np.float64)
    nan = np.isnan(x)
    sign = np.signbit(x)
    a = np.abs(np.where(nan, 0.0, x))
    a = np.minimum(a, E4M3_MAX)  # saturate (also maps inf to 448)
    # Exponent of the binade holding a (a = f * 2^e with f in [0.5, 1)): binade start 2^(e-1).
    _, e = np.frexp(a)
    e = np.maximum(e - 1, -6)  # subnormals share the quantum of the lowest binade
    quantum = np.exp2(e - 3.0)
    q = np.round(a / quantum) * quantum  # np.round rounds half to even; a/quantum is exact
    q = np.minimum(q, E4M3_MAX)
    # Re-derive fields from the rounded value (rounding may carry into the next binade).
    _, e2 = np.frexp(q)
    e2 = e2 - 1
    is_normal = q >= 2.0 ** -6
    exp_field = np.where(is_normal, e2 + 7, 0)
    man_field = np.where(is_normal, q / np.exp2(e2 - 3.0) - 8.0, q / 2.0 ** -9)
    code = (exp_field.astype(np.int64) << 3) | np.rint(man_field).astype(np.int64)
    code = code | np.where(sign, 0x80, 0)
    code = np.where(nan, E4M3_NAN, code)
    return code.astype(np.uint8)


def bf16_bits(x):
    """float -> uint16 BF16 bit patterns, round-to-nearest-even from the float32 value."""
    f = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    u = f.view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    is_nan = np.isnan(f)
    rounded = np.where(is_nan, (u >> 16) | 0x40, rounded)
    return rounded.astype(np.uint16)


def bf16_to_f32(bits):
    b = np.ascontiguousarray(np.asarray(bits, dtype=np.uint16))
    return (b.astype(np.uint32) << 16).view(np.float32)


def round_bf16(x):
    """float -> float32 holding the nearest BF16 value."""
    return bf16_to_f32(bf16_bits(x)).reshape(np.shape(x))


def round_f16(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)


def fp8_block_quantize(w):
    """2-D weight [rows, cols] -> (codes uint8 [rows, cols], scale_inv f32 [ceil(r/128), ceil(c/128)]).

    Each 128x128 block (partial at the edges) gets scale_inv = amax/448 so its largest value maps
    to 448; dequantised = e4m3_decode(code) * scale_inv[block]. An all-zero block gets scale 1.
    """
    w = np.asarray(w, dtype=np.float32)
    rows, cols = w.shape
    br, bc = -(-rows // FP8_BLOCK), -(-cols // FP8_BLOCK)
    scale_inv = np.ones((br, bc), dtype=np.float32)
    codes = np.zeros((rows, cols), dtype=np.uint8)
    for i in range(br):
        for j in range(bc):
            blk = w[i * FP8_BLOCK:(i + 1) * FP8_BLOCK, j * FP8_BLOCK:(j + 1) * FP8_BLOCK]
            amax = float(np.max(np.abs(blk)))
            s = np.float32(amax / E4M3_MAX) if amax > 0 else np.float32(1.0)
            scale_inv[i, j] = s
            codes[i * FP8_BLOCK:(i + 1) * FP8_BLOCK, j * FP8_BLOCK:(j + 1) * FP8_BLOCK] = \
                e4m3_encode(blk.astype(np.float64) / np.float64(s))
    return codes, scale_inv


def fp8_block_dequantize(codes, scale_inv):
    """Inverse of fp8_block_quantize, in float64."""
    rows, cols = codes.shape
    s = np.repeat(np.repeat(np.asarray(scale_inv, dtype=np.float64), FP8_BLOCK, 0), FP8_BLOCK, 1)
    return e4m3_decode(codes) * s[:rows, :cols]
