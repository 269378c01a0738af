"""bpe.py — a byte-level BPE vocabulary trained on the task text, and its tokenizer.json.

Pre-tokenization is DeepSeek-V3's (three Split regexes, then the byte-level map), restricted
here to ASCII text, which is all the tasks produce (`encode` refuses anything else). Merges
never join digits, so every digit stays one token whatever the pre-tokenizer groups: that is
what makes column arithmetic learnable by a tiny model.
"""
import collections
import json
import re

BOS, EOS, USER, ASSISTANT, THINK, END_THINK = (
    "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>",
    "<think>", "</think>")
SPECIALS = [BOS, EOS, USER, ASSISTANT, THINK, END_THINK]  # ids 0..5
CONTROL = {BOS, EOS, USER, ASSISTANT}  # special=True; <think> and </think> are plain added tokens

# DeepSeek-V3's tokenizer.json pre-tokenizer patterns (Unicode classes, as whale and HF use).
DIGITS_RE = r"\p{N}{1,3}"
CJK_RE = r"[一-龥぀-ゟ゠-ヿ]+"
MAIN_RE = (r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+"
           r"| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# The same patterns for ASCII text with Python's `re` (\p{L} = letters, \p{P}|\p{S} = ASCII
# punctuation and symbols, \p{N} = digits, no marks or CJK).
_PS = r"!-/:-@\[-`{-~"
_ASCII_DIGITS = re.compile(r"[0-9]{1,3}")
_ASCII_MAIN = re.compile(
    r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\nA-Za-z" + _PS + r"]?[A-Za-z]+"
    r"| ?[" + _PS + r"]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def _split_isolated(pattern, pieces):
    out = []
    for piece in pieces:
        pos = 0
        for m in pattern.finditer(piece):
            if m.start() > pos:
                out.append(piece[pos:m.start()])
            if m.end() > m.start():
                out.append(m.group())
            pos = m.end()
        if pos < len(piece):
            out.append(piece[pos:])
    return out


def pre_tokenize(text):
    if not text.isascii():
        raise ValueError(f"task text must be ASCII: {text!r}")
    return _split_isolated(_ASCII_MAIN, _split_isolated(_ASCII_DIGITS, [text]))


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map (printable bytes map to themselves)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


BYTE_CHAR = bytes_to_unicode()


def _symbols(piece):
    return tuple(BYTE_CHAR[b] for b in piece.encode("utf-8"))


def _split_on_specials(text):
    """[(is_special, segment)] with the added tokens cut out first, as HF does."""
    pat = re.compile("|".join(re.escape(s) for s in SPECIALS))
    out, pos = [], 0
    for m in pat.finditer(text):
        if m.start() > pos:
            out.append((False, text[pos:m.start()]))
        out.append((True, m.group()))
        pos = m.end()
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def train(texts, vocab_size):
    """-> merges [(a, b)] learnt greedily (most frequent pair, ties by first seen order) until
    the vocabulary (specials + 256 bytes + merges) reaches vocab_size."""
    words = collections.Counter()
    for t in texts:
        for special, seg in _split_on_specials(t):
            if not special:
                for piece in pre_tokenize(seg):
                    words[_symbols(piece)] += 1
    words = dict(words)
    merges = []
    known = set(BYTE_CHAR.values()) | set(SPECIALS)
    n_merges = vocab_size - len(SPECIALS) - 256
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                if a.isdigit() or b.isdigit() or a + b in known:
                    continue  # digits stay single tokens; every token string stays unique
                pairs[a, b] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merges.append(best)
        known.add(best[0] + best[1])
        words = {_merge_word(w, best): c for w, c in words.items()}
    return merges


def _merge_word(w, pair):
    out, i = [], 0
    while i < len(w):
        if i + 1 < len(w) and (w[i], w[i + 1]) == pair:
            out.append(w[i] + w[i + 1])
            i += 2
        else:
            out.append(w[i])
            i += 1
    return tuple(out)


class Tokenizer:
    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.rank = {m: i for i, m in enumerate(self.merges)}
        self.tokens = list(SPECIALS) + [BYTE_CHAR[b] for b in range(256)] + [a + b for a, b in self.merges]
        self.id = {t: i for i, t in enumerate(self.tokens)}
        self.cache = {}

    def _bpe(self, piece):
        if piece in self.cache:
            return self.cache[piece]
        w = list(_symbols(piece))
        while len(w) > 1:
            ranked = [(self.rank.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(w, w[1:]))]
            r, i = min(ranked)
            if r == 1 << 30:
                break
            w = w[:i] + [w[i] + w[i + 1]] + w[i + 2:]
        ids = [self.id[s] for s in w]
        self.cache[piece] = ids
        return ids

    def encode(self, text):
        ids = []
        for special, seg in _split_on_specials(text):
            if special:
                ids.append(self.id[seg])
            else:
                for piece in pre_tokenize(seg):
                    ids += self._bpe(piece)
        return ids

    def decode(self, ids):
        inv = {c: b for b, c in BYTE_CHAR.items()}
        out = bytearray()
        for i in ids:
            t = self.tokens[i]
            if i < len(SPECIALS):
                out += t.encode("utf-8")
            else:
                out += bytes(inv[c] for c in t)
        return out.decode("utf-8", errors="replace")

    # The shipped id order differs from the training order: the BPE vocabulary first, then the
    # six added tokens (as DeepSeek lays out <think>, which exists only as an added token).
    # Hugging Face `tokenizers` 0.13 silently ignores a non-special added token whose text is
    # also in the BPE vocabulary, so <think> must not be there. export.py permutes the embedding
    # and output rows accordingly; shipped id = ship[training id].
    def shipped_tokens(self):
        n = len(SPECIALS)
        return self.tokens[n:] + self.tokens[:n]

    def ship(self, train_id):
        n, total = len(SPECIALS), len(self.tokens)
        return train_id - n if train_id >= n else total - n + train_id

    def tokenizer_json(self):
        """Hugging Face tokenizer.json (shipped ids), laid out as DeepSeek-V3's."""
        def split(pattern):
            return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated",
                    "invert": False}
        added = [{"id": self.ship(i), "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": s not in CONTROL, "special": s in CONTROL}
                 for i, s in enumerate(SPECIALS)]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": []},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                split(DIGITS_RE), split(CJK_RE), split(MAIN_RE),
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                 "use_regex": False}]},
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": BOS, "type_id": 0}},
                                          {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [{"SpecialToken": {"id": BOS, "type_id": 0}},
                                        {"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": BOS, "type_id": 1}},
                                        {"Sequence": {"id": "B", "type_id": 1}}],
                               "special_tokens": {BOS: {"id": BOS, "ids": [self.ship(0)], "tokens": [BOS]}}},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                        "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": None, "end_of_word_suffix": None,
                      "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": {t: i for i, t in enumerate(self.shipped_tokens())
                                if t not in SPECIALS},
                      "merges": [f"{a} {b}" for a, b in self.merges]},
        }

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"merges": [list(m) for m in self.merges]}, f, ensure_ascii=False)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f)["merges"])
