#!/usr/bin/env python3
"""check_convert.py — `whale convert --type f32` of every tiny model's HF folders (F32, BF16,
FP8), re-read with independent readers:

* tensors: the same names, shapes and f32 values, bit for bit, as the Python writer's mapping
  (tests/reference/name_map.hf_to_gguf: experts stacked, kv_b split into k_b/v_b, Llama q/k
  permuted) applied to the folder's weights as the Python loader decodes them. FP8 is exact too:
  e4m3 code x f32 scale is exact in float64, so both sides round once to f32.
* metadata: every key of the Python writer's <model>-f32.gguf (except the tokenizer, which the
  tiny folders do not ship, and general.name/alignment) with the same value.
* a sharded FP8 folder (index + 3 shards) converts to the same bytes as the single file; a
  folder with a tokenizer.json gets the tokenizer.ggml.* keys and encodes like the folder.
* one converted file read by Hugging Face's @huggingface/gguf (tests/gguf_js): same keys,
  values, tensor names, shapes and types as the Python reader sees.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
from gguf_io import read_gguf  # noqa: E402
from name_map import hf_to_gguf  # noqa: E402
from ref_load import load_hf_folder  # noqa: E402
from safetensors_io import StTensor, write_safetensors  # noqa: E402
from tiny_weights import llama3_freq_divisors  # noqa: E402

SKIP_KEYS = ("general.name", "general.alignment")
GGUF_JS = os.path.join(ROOT, "tests", "gguf_js")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout


def check_tensors(label, path, folder, failures):
    meta, got, types = read_gguf(path)
    cfg, w = load_hf_folder(folder)
    if cfg["arch"] == "llama" and cfg.get("rope_scaling"):
        cfg["rope_freq_divisors"] = llama3_freq_divisors(cfg)
    want = dict(hf_to_gguf(w, cfg, "split"))
    if set(got) != set(want):
        failures.append(f"{label}: tensors {sorted(set(got) ^ set(want))} differ")
        return
    for name, a in want.items():
        a = np.asarray(a, dtype=np.float64).astype(np.float32)
        b = got[name].astype(np.float32)
        if types[name] != 0 or a.shape != b.shape:
            failures.append(f"{label}: {name}: type {types[name]} shape {b.shape}, expected F32 {a.shape}")
        elif name == "rope_freqs.weight":
            if not np.allclose(a, b, rtol=1e-6, atol=0):  # computed in double on both sides
                failures.append(f"{label}: {name}: {b} vs {a}")
        elif not np.array_equal(a.view(np.uint32), b.view(np.uint32)):
            i = np.unravel_index(np.argmax(a != b), a.shape)
            failures.append(f"{label}: {name}{list(i)}: {b[i]!r} vs {a[i]!r}")


def check_metadata(label, path, py_path, failures):
    got, _, _ = read_gguf(path)
    want, _, _ = read_gguf(py_path)
    for k, v in want.items():
        if k in SKIP_KEYS or k.startswith("tokenizer.ggml.") and k not in (
                "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"):
            continue
        if k not in got:
            failures.append(f"{label}: key {k} missing")
        elif got[k] != v:
            failures.append(f"{label}: key {k} = {got[k]!r}, Python writer has {v!r}")
    if got.get("general.quantization_version") != 2:
        failures.append(f"{label}: general.quantization_version is {got.get('general.quantization_version')}")


def check_with_gguf_js(path, failures):
    if not os.path.isdir(os.path.join(GGUF_JS, "node_modules", "@huggingface", "gguf")):
        msg = "tests/gguf_js/node_modules is missing (npm ci --prefix tests/gguf_js)"
        if os.environ.get("CI", "false") not in ("", "false"):
            failures.append(msg)
        else:
            print("SKIP gguf_js:", msg)
        return
    js = json.loads(run(["node", os.path.join(GGUF_JS, "read_gguf.mjs"), path]))
    meta, tensors, types = read_gguf(path)
    jmeta = {k: v for k, v in js["metadata"].items() if k not in ("version", "tensor_count", "kv_count")}
    if set(jmeta) != set(meta):
        failures.append(f"gguf_js: keys differ: {sorted(set(jmeta) ^ set(meta))}")
    for k, v in meta.items():
        jv = jmeta.get(k, {}).get("value")
        same = (jv == v if isinstance(v, (str, bool, list)) and not (isinstance(v, list) and v and isinstance(v[0], float))
                else np.allclose(np.asarray(jv, dtype=np.float64), np.asarray(v, dtype=np.float64), rtol=0, atol=0))
        if not same:
            failures.append(f"gguf_js: {k} = {str(jv)[:80]} vs {str(v)[:80]}")
    if [t["name"] for t in js["tensors"]] != list(tensors):
        failures.append("gguf_js: tensor names or order differ")
    for t in js["tensors"]:
        shape = tuple(int(x) for x in reversed(t["shape"]))
        if shape != tensors[t["name"]].shape or int(t["dtype"]) != types[t["name"]]:
            failures.append(f"gguf_js: {t['name']}: {shape} type {t['dtype']}")
    print(f"ok   @huggingface/gguf reads {os.path.basename(path)}: {len(meta)} keys, {len(tensors)} tensors")


def bytes_to_unicode():
    """GPT-2's byte-level alphabet: printable bytes map to themselves, the rest above U+0100."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, n = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


def write_tokenizer(folder):
    """A small byte-level BPE tokenizer (256 byte tokens, a few merges, three added tokens):
    small enough for the tiny models' vocabularies, real enough for llama.cpp's conventions."""
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    added = [("<|begin|>", True), ("<|end|>", True), ("<think>", False)]
    tok = {
        "version": "1.0",
        "added_tokens": [{"id": len(vocab) + i, "content": c, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": sp}
                         for i, (c, sp) in enumerate(added)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "fuse_unk": False,
                  "byte_fallback": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    cfg = {"bos_token": "<|begin|>", "eos_token": "<|end|>", "add_bos_token": True,
           "chat_template": "{% for m in messages %}<|begin|>{{ m['content'] }}<|end|>{% endfor %}"}
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f)
    return tok, cfg


def check_tokenizer(whale, models, tmp, failures):
    """A tiny model's folder plus a tokenizer: the GGUF's tokenizer.ggml.* keys spell the
    vocabulary by id (padded to vocab_size), and whale's GGUF tokenizer encodes like its HF one."""
    src = os.path.join(models, "qwen2-tiny", "hf")
    if not os.path.isdir(src):
        return
    folder = os.path.join(tmp, "qwen2-tiny-tok")
    shutil.copytree(src, folder)
    tok, cfg = write_tokenizer(folder)
    out = os.path.join(tmp, "qwen2-tiny-tok.gguf")
    run([whale, "convert", folder, "-o", out, "--type", "q8_0", "-t", "2"])
    meta, _, _ = read_gguf(out)
    n = json.load(open(os.path.join(folder, "config.json")))["vocab_size"]
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    by_id.update({a["id"]: a["content"] for a in tok["added_tokens"]})
    want_tokens = [by_id.get(i, f"[PAD{i}]") for i in range(n)]
    added = {a["id"]: (3 if a["special"] else 4) for a in tok["added_tokens"]}  # control / user
    want_types = [added.get(i, 1 if i in by_id else 5) for i in range(n)]  # normal / unused pad
    bos, eos = (next(a["id"] for a in tok["added_tokens"] if a["content"] == cfg[k])
                for k in ("bos_token", "eos_token"))
    want = {"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "gpt-2",
            "tokenizer.ggml.tokens": want_tokens, "tokenizer.ggml.token_type": want_types,
            "tokenizer.ggml.merges": tok["model"]["merges"], "tokenizer.ggml.bos_token_id": bos,
            "tokenizer.ggml.eos_token_id": eos, "tokenizer.ggml.add_bos_token": True,
            "tokenizer.chat_template": cfg["chat_template"], "general.file_type": 7}
    for k, v in want.items():
        if meta.get(k) != v:
            failures.append(f"tokenizer: {k} = {str(meta.get(k))[:120]}, expected {str(v)[:120]}")
    for text in ("the world", "<|begin|>in the  world<think> or\n\tword 42", "héllo wörld 🦙"):
        a = run([whale, "tokenize", "-m", folder, "--text", text])
        b = run([whale, "tokenize", "-m", out, "--text", text])
        if a != b:
            failures.append(f"tokenizer: {text!r}: GGUF gives {b.strip()}, HF folder {a.strip()}")
    print("ok   tokenizer.json -> tokenizer.ggml.* (qwen2-tiny + a byte-level BPE vocabulary)")


def check_sharded(whale, models, tmp, failures):
    """The FP8 folder re-saved as three shards plus model.safetensors.index.json (tensors dealt
    round-robin, so most weights and their weight_scale_inv sit in different shards) converts
    to the same bytes as the single file."""
    src = os.path.join(models, "deepseek-v3-tiny", "hf-fp8")
    if not os.path.isdir(src):
        return
    folder = os.path.join(tmp, "v3-fp8-sharded")
    os.makedirs(folder)
    for f in ("config.json", "generation_config.json"):
        shutil.copy(os.path.join(src, f), folder)
    with open(os.path.join(src, "model.safetensors"), "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    names = sorted(k for k in header if k != "__metadata__")
    shards = [{} for _ in range(3)]
    weight_map = {}
    for i, name in enumerate(names):
        info = header[name]
        b, e = info["data_offsets"]
        shard = i % 3
        shards[shard][name] = StTensor(info["dtype"], info["shape"], data[8 + n + b:8 + n + e])
        weight_map[name] = f"model-{shard + 1:05d}-of-00003.safetensors"
    for k, t in enumerate(shards):
        write_safetensors(os.path.join(folder, f"model-{k + 1:05d}-of-00003.safetensors"), t)
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": len(data)}, "weight_map": weight_map}, f)
    outs = []
    for d in (src, folder):
        out = os.path.join(tmp, os.path.basename(d) + "-q8.gguf")
        run([whale, "convert", d, "-o", out, "--type", "q8_0", "--name", "same", "-t", "2"])
        outs.append(open(out, "rb").read())
    if outs[0] != outs[1]:
        failures.append("sharded FP8 folder converts to different bytes than the single file")
    else:
        print("ok   3-shard FP8 folder converts byte-identically to the single-file one")


def check_convert_equals_quantize(whale, models, tmp, failures):
    """`convert --type T` equals `convert --type f32` then `quantize T`, byte for byte: one
    recipe and one encoder behind both commands (FP8 input, a K mixture and a legacy type)."""
    src = os.path.join(models, "deepseek-v3-tiny", "hf-fp8")
    if not os.path.isdir(src):
        return
    f32 = os.path.join(tmp, "v3-fp8-f32.gguf")
    run([whale, "convert", src, "-o", f32, "--type", "f32", "--name", "same"])
    for ty in ("Q4_K_M", "Q5_1"):
        a, b = os.path.join(tmp, f"direct-{ty}.gguf"), os.path.join(tmp, f"twostep-{ty}.gguf")
        run([whale, "convert", src, "-o", a, "--type", ty, "--name", "same", "-t", "3"])
        run([whale, "quantize", f32, b, ty, "-t", "1"])
        if open(a, "rb").read() != open(b, "rb").read():
            failures.append(f"convert --type {ty} differs from convert f32 + quantize {ty}")
        else:
            print(f"ok   convert --type {ty} == convert f32 + quantize {ty}, byte for byte")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--whale", required=True)
    ap.add_argument("--models", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="whale-convert-")
    failures, checks = [], 0
    js_file = None
    for model in sorted(os.listdir(args.models)):
        mdir = os.path.join(args.models, model)
        for stem in ("hf", "hf-bf16", "hf-fp8"):
            folder = os.path.join(mdir, stem)
            if not os.path.isdir(folder):
                continue
            label = f"{model}/{stem}"
            out = os.path.join(tmp, f"{model}-{stem}.gguf")
            try:
                run([args.whale, "convert", folder, "-o", out, "--type", "f32", "-t", "2"])
            except RuntimeError as e:
                failures.append(f"{label}: {e}")
                continue
            before = len(failures)
            check_tensors(label, out, folder, failures)
            check_metadata(label, out, os.path.join(mdir, f"{model}-f32.gguf"), failures)
            checks += 1
            if len(failures) == before:
                print(f"ok   {label}: tensors bit-identical, metadata as the Python writer's")
            if model.startswith("deepseek-v3") and stem == "hf":
                js_file = out
    if js_file:
        check_with_gguf_js(js_file, failures)
    try:
        check_sharded(args.whale, args.models, tmp, failures)
        check_convert_equals_quantize(args.whale, args.models, tmp, failures)
        check_tokenizer(args.whale, args.models, tmp, failures)
    except RuntimeError as e:
        failures.append(f"tokenizer: {e}")
    for f in failures[:40]:
        print("FAIL", f)
    print(f"{checks} conversions checked, {len(failures)} failures")
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
