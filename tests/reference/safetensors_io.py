"""safetensors_io.py — read and write .safetensors files by hand.

Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}
(offsets relative to the end of the header), then the raw little-endian tensor bytes.
Supported dtypes: F32, F16, BF16, F8_E4M3 (read as float64 / raw codes).
"""
import json
import struct

import numpy as np

from fp8 import bf16_to_f32, e4m3_decode

_ELEM_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F64": 8}


class StTensor:
    """A tensor to write: dtype name + shape + raw bytes."""

    def __init__(self, dtype, shape, raw):
        assert dtype in _ELEM_BYTES, dtype
        self.dtype, self.shape, self.raw = dtype, list(shape), raw
        n = int(np.prod(shape)) if len(shape) else 1
        assert len(raw) == n * _ELEM_BYTES[dtype], (dtype, shape, len(raw))


def st_f32(a):
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    return StTensor("F32", a.shape, a.tobytes())


def st_bf16_bits(bits):
    bits = np.ascontiguousarray(np.asarray(bits, dtype=np.uint16))
    return StTensor("BF16", bits.shape, bits.astype("<u2").tobytes())


def st_e4m3(codes):
    codes = np.ascontiguousarray(np.asarray(codes, dtype=np.uint8))
    return StTensor("F8_E4M3", codes.shape, codes.tobytes())


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> StTensor (written in sorted name order)."""
    header = {}
    offset = 0
    names = sorted(tensors)
    for name in names:
        t = tensors[name]
        header[name] = {"dtype": t.dtype, "shape": t.shape,
                        "data_offsets": [offset, offset + len(t.raw)]}
        offset += len(t.raw)
    if metadata:
        header["__metadata__"] = metadata
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)  # keep tensor data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for name in names:
            f.write(tensors[name].raw)


def read_safetensors(path):
    """-> dict name -> (dtype string, numpy array). F32/F16/BF16 come back as float64 arrays,
    F8_E4M3 as uint8 codes (the caller applies the block scales)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt, shape = info["dtype"], tuple(info["shape"])
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        if dt == "F32":
            a = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif dt == "F64":
            a = np.frombuffer(raw, dtype="<f8").astype(np.float64)
        elif dt == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif dt == "BF16":
            a = bf16_to_f32(np.frombuffer(raw, dtype="<u2")).astype(np.float64)
        elif dt == "F8_E4M3":
            a = np.frombuffer(raw, dtype=np.uint8).copy()
        else:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {dt}")
        out[name] = (dt, a.reshape(shape))
    return out


def decode_fp8_codes(codes):
    return e4m3_decode(codes)
