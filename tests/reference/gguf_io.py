"""gguf_io.py — a small GGUF v3 writer and reader written from the format description.

File: magic "GGUF", u32 version (3), u64 tensor count, u64 key/value count, the key/values
(u64-length strings, u32 value type, value), the tensor infos (name, u32 n_dims, u64 dims
innermost first (ne0 = row length), u32 ggml type, u64 offset into the data section), padding to
the alignment (general.alignment, default 32), then the tensor data, each tensor aligned.
"""
import struct

import numpy as np

from quants import QK8_0, Q8_0_BLOCK_BYTES, q8_0_dequantize, q8_0_quantize

GGUF_MAGIC = b"GGUF"
ALIGNMENT = 32

# Metadata value types.
T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 = range(13)
_SCALAR_FMT = {T_U8: "<B", T_I8: "<b", T_U16: "<H", T_I16: "<h", T_U32: "<I", T_I32: "<i",
               T_F32: "<f", T_BOOL: "<?", T_U64: "<Q", T_I64: "<q", T_F64: "<d"}

# ggml tensor types used here.
GGML_F32, GGML_F16, GGML_Q8_0, GGML_BF16 = 0, 1, 8, 30


class Val:
    """A typed metadata value: Val(T_U32, 5), Val(T_ARR, [...], elem=T_STR)."""

    def __init__(self, type_, value, elem=None):
        self.type, self.value, self.elem = type_, value, elem


def u32(v): return Val(T_U32, int(v))
def i32(v): return Val(T_I32, int(v))
def f32(v): return Val(T_F32, float(v))
def bool_(v): return Val(T_BOOL, bool(v))
def string(v): return Val(T_STR, str(v))
def arr(elem, values): return Val(T_ARR, list(values), elem)


def _pack_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _pack_scalar(type_, v):
    if type_ == T_STR:
        return _pack_str(v)
    return struct.pack(_SCALAR_FMT[type_], v)


def _pack_val(v):
    out = struct.pack("<I", v.type)
    if v.type == T_ARR:
        out += struct.pack("<IQ", v.elem, len(v.value))
        out += b"".join(_pack_scalar(v.elem, x) for x in v.value)
    else:
        out += _pack_scalar(v.type, v.value)
    return out


def encode_tensor(a, ggml_type):
    """numpy array (torch-order shape, outermost first) -> (ne list innermost first, raw bytes)."""
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    ne = list(reversed(a.shape))
    if ggml_type == GGML_F32:
        raw = a.astype("<f4").tobytes()
    elif ggml_type == GGML_F16:
        raw = a.astype("<f2").tobytes()
    elif ggml_type == GGML_Q8_0:
        raw = q8_0_quantize(a)
    else:
        raise ValueError(f"unsupported ggml type {ggml_type}")
    return ne, raw


def write_gguf(path, kv, tensors):
    """kv: list of (key, Val); tensors: list of (name, ggml_type, ne, raw)."""
    head = GGUF_MAGIC + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for k, v in kv:
        head += _pack_str(k) + _pack_val(v)
    offset = 0
    offsets = []
    for name, ggml_type, ne, raw in tensors:
        offsets.append(offset)
        head += _pack_str(name) + struct.pack("<I", len(ne)) + b"".join(
            struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", ggml_type, offset)
        offset += len(raw)
        offset += (ALIGNMENT - offset % ALIGNMENT) % ALIGNMENT
    with open(path, "wb") as f:
        f.write(head)
        f.write(b"\0" * ((ALIGNMENT - len(head) % ALIGNMENT) % ALIGNMENT))
        pos = 0
        for (name, ggml_type, ne, raw), off in zip(tensors, offsets):
            f.write(b"\0" * (off - pos))
            f.write(raw)
            pos = off + len(raw)


class _Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)
        self.p += struct.calcsize(fmt)
        return v[0]

    def string(self):
        n = self.take("<Q")
        s = self.d[self.p:self.p + n].decode("utf-8")
        self.p += n
        return s

    def scalar(self, t):
        return self.string() if t == T_STR else self.take(_SCALAR_FMT[t])

    def value(self, t):
        if t == T_ARR:
            et, n = self.take("<I"), self.take("<Q")
            return [self.scalar(et) for _ in range(n)]
        return self.scalar(t)


def read_gguf(path):
    """-> (metadata dict key -> python value, dict name -> float64 array in torch-order shape,
    dict name -> ggml type)."""
    with open(path, "rb") as f:
        data = f.read()
    r = _Reader(data)
    if data[:4] != GGUF_MAGIC:
        raise ValueError(f"{path}: not a GGUF file")
    r.p = 4
    version, n_t, n_kv = r.take("<I"), r.take("<Q"), r.take("<Q")
    if version != 3:
        raise ValueError(f"{path}: GGUF version {version} not supported")
    meta = {}
    for _ in range(n_kv):
        k = r.string()
        t = r.take("<I")
        meta[k] = r.value(t)
    infos = []
    for _ in range(n_t):
        name = r.string()
        nd = r.take("<I")
        ne = [r.take("<Q") for _ in range(nd)]
        t, off = r.take("<I"), r.take("<Q")
        infos.append((name, ne, t, off))
    align = int(meta.get("general.alignment", ALIGNMENT))
    base = r.p + (align - r.p % align) % align
    tensors, types = {}, {}
    for name, ne, t, off in infos:
        n = int(np.prod(ne))
        start = base + off
        if t == GGML_F32:
            a = np.frombuffer(data, dtype="<f4", count=n, offset=start).astype(np.float64)
        elif t == GGML_F16:
            a = np.frombuffer(data, dtype="<f2", count=n, offset=start).astype(np.float64)
        elif t == GGML_BF16:
            from fp8 import bf16_to_f32
            a = bf16_to_f32(np.frombuffer(data, dtype="<u2", count=n, offset=start)).astype(np.float64)
        elif t == GGML_Q8_0:
            assert ne[0] % QK8_0 == 0
            nbytes = n // QK8_0 * Q8_0_BLOCK_BYTES
            a = q8_0_dequantize(data[start:start + nbytes], n)
        else:
            raise ValueError(f"{path}: tensor {name}: ggml type {t} not supported")
        tensors[name] = a.reshape(tuple(reversed(ne)))
        types[name] = t
    return meta, tensors, types
