"""ref_model.py — float64 forward passes written from the architecture definitions:
DeepSeek-V2/V3 (MLA + DeepSeekMoE), Qwen2 and Llama 3. Weights use Hugging Face tensor names.

`cfg` is the canonical configuration dict built by ref_config.py; `w` maps HF names to float64
numpy arrays. Everything here is deliberately naive and readable; speed only matters at tiny size.
"""
import math

import numpy as np

# ----------------------------------------------------------------------------- basic blocks


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def silu(x):
    return x / (1.0 + np.exp(-x))


def mlp(x, w, prefix):
    """SiLU-gated MLP: down(silu(gate(x)) * up(x))."""
    g = x @ w[prefix + "gate_proj.weight"].T
    u = x @ w[prefix + "up_proj.weight"].T
    return (silu(g) * u) @ w[prefix + "down_proj.weight"].T


def softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


# ----------------------------------------------------------------------------- rotary embeddings


def yarn_get_mscale(scale, mscale):
    if scale <= 1.0:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def yarn_correction_dim(num_rotations, dim, base, max_pos):
    """The rotary dimension whose wavelength fits `num_rotations` times into max_pos."""
    return dim * math.log(max_pos / (num_rotations * 2 * math.pi)) / (2 * math.log(base))


def yarn_inv_freq(dim, base, rs):
    """DeepSeek YaRN: interpolate (divide by factor) the low frequencies, keep the high ones,
    with a linear ramp between the correction dims of beta_fast and beta_slow.
    Returns (inv_freq [dim/2], cos/sin multiplier)."""
    factor = float(rs["factor"])
    orig = float(rs["original_max_position_embeddings"])
    beta_fast, beta_slow = float(rs.get("beta_fast", 32)), float(rs.get("beta_slow", 1))
    idx = np.arange(0, dim, 2, dtype=np.float64) / dim
    freq_extra = 1.0 / base ** idx
    freq_inter = 1.0 / (factor * base ** idx)
    low = math.floor(yarn_correction_dim(beta_fast, dim, base, orig))
    high = math.ceil(yarn_correction_dim(beta_slow, dim, base, orig))
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001  # avoid a zero-width ramp
    ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - low) / (high - low), 0.0, 1.0)
    extra_mask = 1.0 - ramp  # 1: keep the original (extrapolated) frequency
    inv_freq = freq_inter * (1.0 - extra_mask) + freq_extra * extra_mask
    mscale = float(rs.get("mscale", 1.0))
    mscale_all = float(rs.get("mscale_all_dim", 0.0))
    attn = yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all)
    return inv_freq, attn


def llama3_inv_freq(dim, base, rs):
    """Llama 3.1 frequency scaling: wavelengths longer than original/low_freq_factor are divided
    by factor, shorter than original/high_freq_factor kept, a smooth blend in between."""
    inv = 1.0 / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    factor = float(rs["factor"])
    lo, hi = float(rs["low_freq_factor"]), float(rs["high_freq_factor"])
    orig = float(rs["original_max_position_embeddings"])
    wavelen = 2 * math.pi / inv
    out = np.empty_like(inv)
    for i, (f, wl) in enumerate(zip(inv, wavelen)):
        if wl < orig / hi:
            out[i] = f
        elif wl > orig / lo:
            out[i] = f / factor
        else:
            smooth = (orig / wl - lo) / (hi - lo)
            out[i] = (1 - smooth) * f / factor + smooth * f
    return out


def rope_inv_freq(cfg, dim):
    """-> (inv_freq [dim/2], cos/sin multiplier)."""
    base = float(cfg["rope_theta"])
    if cfg.get("rope_freq_divisors") is not None:  # GGUF llama: rope_freqs.weight
        inv = 1.0 / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
        return inv / cfg["rope_freq_divisors"], 1.0
    rs = cfg.get("rope_scaling")
    kind = None if not rs else rs.get("type", rs.get("rope_type"))
    if kind == "yarn":
        return yarn_inv_freq(dim, base, rs)
    if kind == "llama3":
        return llama3_inv_freq(dim, base, rs), 1.0
    if kind == "linear":
        inv = 1.0 / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
        return inv / float(rs["factor"]), 1.0
    return 1.0 / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim), 1.0


def rope_interleaved(x, pos, inv_freq, mult):
    """x [T, ..., d]: pair (2i, 2i+1) rotated by angle pos * inv_freq[i] (DeepSeek convention)."""
    ang = pos[:, None] * inv_freq[None, :]  # [T, d/2]
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (ang.shape[1],)
    c, s = (np.cos(ang) * mult).reshape(shape), (np.sin(ang) * mult).reshape(shape)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x0 * s + x1 * c
    return out


def rope_half(x, pos, inv_freq, mult=1.0):
    """x [T, H, d]: element i paired with i + d/2, rotated by frequency i (HF rotate_half)."""
    h = x.shape[-1] // 2
    ang = pos[:, None] * inv_freq[None, :]
    c, s = (np.cos(ang) * mult)[:, None, :], (np.sin(ang) * mult)[:, None, :]
    x0, x1 = x[..., :h], x[..., h:]
    return np.concatenate([x0 * c - x1 * s, x1 * c + x0 * s], axis=-1)


def causal_attention(q, k, v, scale, q_pos, k_pos):
    """q [T, H, dk], k [S, H, dk], v [S, H, dv]; query t sees keys with k_pos <= q_pos[t]."""
    s = np.einsum("thd,shd->hts", q, k) * scale
    s = np.where(k_pos[None, None, :] <= q_pos[None, :, None], s, -np.inf)
    p = softmax(s, axis=-1)
    return np.einsum("hts,shd->thd", p, v)


# ----------------------------------------------------------------------------- MLA


class LayerCache:
    """Per-layer attention cache. MLA keeps the normalised latent and the roped shared k_pe
    (what the absorbed form needs); GQA models keep roped k and v."""

    def __init__(self):
        self.a = None
        self.b = None
        self.pos = np.zeros(0)

    def append(self, a, b, pos):
        self.a = a if self.a is None else np.concatenate([self.a, a])
        self.b = b if self.b is None else np.concatenate([self.b, b])
        self.pos = np.concatenate([self.pos, pos])


def mla_attention(x, w, p, cfg, pos, cache, absorbed=False):
    """DeepSeek-V2 §2.1 / V3 §2.1.1 Multi-head Latent Attention. x [T, hidden] -> [T, hidden]."""
    T = x.shape[0]
    H = cfg["num_attention_heads"]
    nope, rope, vd = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    c = cfg["kv_lora_rank"]
    eps = cfg["rms_norm_eps"]
    if cfg.get("q_lora_rank"):
        cq = rms_norm(x @ w[p + "q_a_proj.weight"].T, w[p + "q_a_layernorm.weight"], eps)
        q = cq @ w[p + "q_b_proj.weight"].T
    else:
        q = x @ w[p + "q_proj.weight"].T
    q = q.reshape(T, H, nope + rope)
    q_nope, q_pe = q[..., :nope], q[..., nope:]
    kv = x @ w[p + "kv_a_proj_with_mqa.weight"].T
    latent = rms_norm(kv[:, :c], w[p + "kv_a_layernorm.weight"], eps)  # [T, c]
    inv_freq, mult = rope_inv_freq(cfg, rope)
    k_pe = rope_interleaved(kv[:, c:], pos, inv_freq, mult)  # [T, rope], shared by all heads
    q_pe = rope_interleaved(q_pe, pos, inv_freq, mult)
    cache.append(latent, k_pe, pos)
    lat_all, kpe_all, k_pos = cache.a, cache.b, cache.pos
    S = lat_all.shape[0]
    scale = (nope + rope) ** -0.5
    rs = cfg.get("rope_scaling")
    if rs and rs.get("type", rs.get("rope_type")) == "yarn" and rs.get("mscale_all_dim"):
        m = yarn_get_mscale(float(rs["factor"]), float(rs["mscale_all_dim"]))
        scale *= m * m
    kv_b = w[p + "kv_b_proj.weight"].reshape(H, nope + vd, c)
    if not absorbed:
        kvb = (lat_all @ kv_b.reshape(H * (nope + vd), c).T).reshape(S, H, nope + vd)
        k = np.concatenate([kvb[..., :nope], np.broadcast_to(kpe_all[:, None, :], (S, H, rope))], -1)
        qf = np.concatenate([q_nope, q_pe], -1)
        o = causal_attention(qf, k, kvb[..., nope:], scale, pos, k_pos)  # [T, H, vd]
    else:
        # Fold W_UK into the query and W_UV after the attention: scores over the latent directly.
        w_uk, w_uv = kv_b[:, :nope, :], kv_b[:, nope:, :]
        q_lat = np.einsum("thn,hnc->thc", q_nope, w_uk)
        s = (np.einsum("thc,sc->hts", q_lat, lat_all) + np.einsum("thr,sr->hts", q_pe, kpe_all)) * scale
        s = np.where(k_pos[None, None, :] <= pos[None, :, None], s, -np.inf)
        pr = softmax(s, axis=-1)
        o_lat = np.einsum("hts,sc->thc", pr, lat_all)
        o = np.einsum("thc,hvc->thv", o_lat, w_uv)
    return o.reshape(T, H * vd) @ w[p + "o_proj.weight"].T


# ----------------------------------------------------------------------------- GQA (Qwen2 / Llama)


def gqa_attention(x, w, p, cfg, pos, cache):
    T = x.shape[0]
    H, Hkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]

    def proj(name):
        y = x @ w[p + name + ".weight"].T
        if (p + name + ".bias") in w:
            y = y + w[p + name + ".bias"]
        return y

    q = proj("q_proj").reshape(T, H, hd)
    k = proj("k_proj").reshape(T, Hkv, hd)
    v = proj("v_proj").reshape(T, Hkv, hd)
    inv_freq, mult = rope_inv_freq(cfg, hd)
    q, k = rope_half(q, pos, inv_freq, mult), rope_half(k, pos, inv_freq, mult)
    cache.append(k, v, pos)
    rep = H // Hkv
    k_all = np.repeat(cache.a, rep, axis=1)  # head h uses kv head h // rep
    v_all = np.repeat(cache.b, rep, axis=1)
    o = causal_attention(q, k_all, v_all, hd ** -0.5, pos, cache.pos)
    return o.reshape(T, H * hd) @ w[p + "o_proj.weight"].T


# ----------------------------------------------------------------------------- MoE routing


def _order_desc(x):
    """Indices sorting each row descending; ties keep the lower index first."""
    return np.argsort(-x, axis=-1, kind="stable")


def route(logits, cfg, bias=None):
    """DeepSeekMoE gate. logits [T, E] -> (ids [T, k], weights [T, k], margin [T]).

    V3 (topk_method noaux_tc, sigmoid): choose with scores + e_score_correction_bias; group score
    = sum of the two best biased scores in the group; keep topk_group groups; top-k experts among
    them; weights = unbiased scores of the chosen, normalised if norm_topk_prob, times
    routed_scaling_factor. V2 (softmax): greedy top-k, or group_limited_greedy with group score =
    max score in the group; weights = chosen scores, normalised if norm_topk_prob (and then NOT
    scaled, as in DeepSeek-V2's code), else times routed_scaling_factor.
    Ties are broken towards the lower index. `margin` is the smallest gap that decided anything
    (k-th vs (k+1)-th expert, kept vs dropped group; for noaux_tc also the k-th biased score vs 0,
    where implementations that fill dropped experts with 0 instead of -inf would differ).
    """
    T, E = logits.shape
    k = cfg["num_experts_per_tok"]
    if cfg["scoring_func"] == "sigmoid":
        scores = 1.0 / (1.0 + np.exp(-logits))
    else:
        scores = softmax(logits, axis=-1)
    method = cfg["topk_method"]
    choice = scores + bias[None, :] if (bias is not None and method == "noaux_tc") else scores.copy()
    margin = np.full(T, np.inf)
    G, kg = cfg.get("n_group") or 1, cfg.get("topk_group") or 1
    if method in ("noaux_tc", "group_limited_greedy") and G > 1:
        grp = choice.reshape(T, G, E // G)
        if method == "noaux_tc":
            gs = np.sort(grp, axis=-1)[..., ::-1][..., :2].sum(-1)
        else:
            gs = grp.max(-1)
        gorder = _order_desc(gs)
        if kg < G:
            rows = np.arange(T)
            margin = np.minimum(margin, gs[rows, gorder[:, kg - 1]] - gs[rows, gorder[:, kg]])
        keep = np.zeros((T, G), dtype=bool)
        np.put_along_axis(keep, gorder[:, :kg], True, axis=1)
        choice = np.where(np.repeat(keep, E // G, axis=1), choice, -np.inf)
    order = _order_desc(choice)
    ids = order[:, :k]
    rows = np.arange(T)
    kth = choice[rows, order[:, k - 1]]
    nxt = choice[rows, order[:, k]] if k < E else np.full(T, -np.inf)
    margin = np.minimum(margin, kth - nxt)
    if method == "noaux_tc":
        margin = np.minimum(margin, kth)
    wts = np.take_along_axis(scores, ids, axis=1)
    rsf = float(cfg.get("routed_scaling_factor", 1.0))
    if method == "noaux_tc":
        if k > 1 and cfg["norm_topk_prob"]:
            wts = wts / (wts.sum(-1, keepdims=True) + 1e-20)
        wts = wts * rsf
    else:
        if k > 1 and cfg["norm_topk_prob"]:
            wts = wts / (wts.sum(-1, keepdims=True) + 1e-20)
        else:
            wts = wts * rsf
    return ids, wts, margin


def is_moe_layer(cfg, layer):
    return (cfg.get("n_routed_experts") or 0) > 0 and layer >= cfg.get("first_k_dense_replace", 0) \
        and layer % (cfg.get("moe_layer_freq") or 1) == 0


def moe(x, w, p, cfg, trace=None, layer=None):
    """DeepSeekMoE: routed experts (weighted) plus the shared experts (one wide MLP)."""
    logits = x @ w[p + "gate.weight"].T
    bias = w.get(p + "gate.e_score_correction_bias")
    ids, wts, margin = route(logits, cfg, bias)
    if trace is not None:
        trace[layer] = (ids, wts, margin)
    out = np.zeros_like(x)
    for e in np.unique(ids):
        rows, slot = np.nonzero(ids == e)
        out[rows] += wts[rows, slot][:, None] * mlp(x[rows], w, f"{p}experts.{e}.")
    if cfg.get("n_shared_experts"):
        out += mlp(x, w, p + "shared_experts.")
    return out


# ----------------------------------------------------------------------------- whole model


def forward(cfg, w, tokens, caches=None, start_pos=0, absorbed=False, trace=None, hidden_out=None):
    """tokens [T] at positions start_pos.. -> logits [T, vocab] (float64).

    caches: list of LayerCache (one per layer) to continue a sequence; None = fresh prefill.
    trace: dict filled with layer -> (expert ids, weights, margin) for MoE layers.
    hidden_out: list appended with the residual stream after embedding and after every layer.
    """
    tokens = np.asarray(tokens, dtype=np.int64)
    L = cfg["num_hidden_layers"]
    if caches is None:
        caches = [LayerCache() for _ in range(L)]
    pos = np.arange(start_pos, start_pos + len(tokens), dtype=np.float64)
    eps = cfg["rms_norm_eps"]
    h = w["model.embed_tokens.weight"][tokens]
    if hidden_out is not None:
        hidden_out.append(h.copy())
    for i in range(L):
        p = f"model.layers.{i}."
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)
        if cfg["arch"] == "deepseek2":
            h = h + mla_attention(x, w, p + "self_attn.", cfg, pos, caches[i], absorbed)
        else:
            h = h + gqa_attention(x, w, p + "self_attn.", cfg, pos, caches[i])
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        if cfg["arch"] == "deepseek2" and is_moe_layer(cfg, i):
            h = h + moe(x, w, p + "mlp.", cfg, trace, i)
        else:
            h = h + mlp(x, w, p + "mlp.")
        if hidden_out is not None:
            hidden_out.append(h.copy())
    h = rms_norm(h, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return h @ head.T
