"""model.py — DeepSeek-V3 in miniature (PyTorch, float32), with Hugging Face tensor names.

Every distinctive part of DeepSeek-V3 is here, following the conventions of its HF config
(and of whale's float64 reference, tests/reference/ref_model.py):
- MLA with q_lora: q = q_b(norm(q_a(x))); latent = norm(kv_a(x)[:kv_lora]); the decoupled RoPE
  key kv_a(x)[kv_lora:] is shared by all heads; RoPE rotates interleaved pairs (2i, 2i+1);
  no YaRN; softmax scale (nope + rope)^-0.5.
- DeepSeekMoE from layer first_k_dense_replace on: sigmoid scores, choice = score +
  e_score_correction_bias, group score = sum of the two best choices in the group, top
  topk_group groups, top-k experts among them; weights = the chosen unbiased scores normalised,
  times routed_scaling_factor; plus one shared expert.
- One MTP module (HF layer index num_hidden_layers): eh_proj([enorm(emb(t_{i+1})); hnorm(h_i)])
  -> a MoE decoder block -> shared_head.norm -> head, predicting t_{i+2}.
The routing bias is a buffer: it is not trained by gradients but nudged after each step by the
observed expert load (auxiliary-loss-free balancing, DeepSeek-V3 section 2.1.2).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = {
    "vocab_size": None,  # set from the tokenizer
    "hidden_size": 128,
    "intermediate_size": 256,
    "moe_intermediate_size": 96,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "q_lora_rank": 64,
    "kv_lora_rank": 32,
    "qk_nope_head_dim": 16,
    "qk_rope_head_dim": 16,
    "v_head_dim": 16,
    "n_routed_experts": 8,
    "n_shared_experts": 1,
    "num_experts_per_tok": 2,
    "n_group": 4,
    "topk_group": 2,
    "routed_scaling_factor": 2.5,
    "first_k_dense_replace": 1,
    "num_nextn_predict_layers": 1,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "max_position_embeddings": 512,
}


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, pos, theta):
    """x [B, T, ..., d], pos [B, T]: rotate interleaved pairs (2i, 2i+1) by pos * theta^(-2i/d)."""
    d = x.shape[-1]
    inv = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d)
    ang = pos.to(torch.float32)[..., None] * inv  # [B, T, d/2]
    while ang.dim() < x.dim():
        ang = ang.unsqueeze(-2)
    c, s = torch.cos(ang), torch.sin(ang)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).flatten(-2)


class MLA(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        D, H = c["hidden_size"], c["num_attention_heads"]
        nope, rp, vd = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        self.q_a_proj = nn.Linear(D, c["q_lora_rank"], bias=False)
        self.q_a_layernorm = RMSNorm(c["q_lora_rank"], c["rms_norm_eps"])
        self.q_b_proj = nn.Linear(c["q_lora_rank"], H * (nope + rp), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(D, c["kv_lora_rank"] + rp, bias=False)
        self.kv_a_layernorm = RMSNorm(c["kv_lora_rank"], c["rms_norm_eps"])
        self.kv_b_proj = nn.Linear(c["kv_lora_rank"], H * (nope + vd), bias=False)
        self.o_proj = nn.Linear(H * vd, D, bias=False)

    def forward(self, x, pos, mask, cache=None):
        """x [B, T, D], pos [B, T], mask [B, 1, T, S] (True = may attend); cache: dict with
        'k', 'v' [B, H, S_past, .] extended in place."""
        c = self.c
        B, T, _ = x.shape
        H, nope, rp, vd = (c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"],
                           c["v_head_dim"])
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))).view(B, T, H, nope + rp)
        q = torch.cat([q[..., :nope], rope(q[..., nope:], pos, c["rope_theta"])], -1)
        kv = self.kv_a_proj_with_mqa(x)
        latent = self.kv_a_layernorm(kv[..., :c["kv_lora_rank"]])
        k_pe = rope(kv[..., c["kv_lora_rank"]:], pos, c["rope_theta"])  # [B, T, rp]
        kvb = self.kv_b_proj(latent).view(B, T, H, nope + vd)
        k = torch.cat([kvb[..., :nope], k_pe[:, :, None, :].expand(B, T, H, rp)], -1)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), kvb[..., nope:].transpose(1, 2)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], 2)
                v = torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        s = (q @ k.transpose(-1, -2)) * (nope + rp) ** -0.5
        s = s.masked_fill(~mask, float("-inf"))
        o = torch.softmax(s, -1) @ v  # [B, H, T, vd]
        return self.o_proj(o.transpose(1, 2).reshape(B, T, H * vd))


class MLP(nn.Module):
    def __init__(self, D, F_):
        super().__init__()
        self.gate_proj = nn.Linear(D, F_, bias=False)
        self.up_proj = nn.Linear(D, F_, bias=False)
        self.down_proj = nn.Linear(F_, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.weight = nn.Parameter(torch.empty(c["n_routed_experts"], c["hidden_size"]))
        nn.init.normal_(self.weight, std=c["hidden_size"] ** -0.5)
        self.register_buffer("e_score_correction_bias", torch.zeros(c["n_routed_experts"]))

    def forward(self, x):
        """x [N, D] -> expert ids [N, k], weights [N, k]."""
        c = self.c
        E, G, kg, k = c["n_routed_experts"], c["n_group"], c["topk_group"], c["num_experts_per_tok"]
        scores = torch.sigmoid(x @ self.weight.t())
        choice = scores.detach() + self.e_score_correction_bias
        grp = choice.view(-1, G, E // G).topk(2, -1).values.sum(-1)  # [N, G]
        keep = torch.zeros_like(grp, dtype=torch.bool).scatter_(1, grp.topk(kg, -1).indices, True)
        choice = choice.masked_fill(~keep.repeat_interleave(E // G, 1), float("-inf"))
        ids = choice.topk(k, -1).indices
        w = scores.gather(1, ids)
        w = w / (w.sum(-1, keepdim=True) + 1e-20) * c["routed_scaling_factor"]
        return ids, w


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, Fm = c["hidden_size"], c["moe_intermediate_size"]
        self.gate = Gate(c)
        self.experts = nn.ModuleList([MLP(D, Fm) for _ in range(c["n_routed_experts"])])
        self.shared_experts = MLP(D, Fm * c["n_shared_experts"])
        self.load = None  # tokens per expert in the last forward (for bias updates and logs)

    def forward(self, x, valid=None):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        ids, w = self.gate(x)
        out = torch.zeros_like(x)
        for e, expert in enumerate(self.experts):
            rows, slot = torch.nonzero(ids == e, as_tuple=True)
            if rows.numel():
                out = out.index_add(0, rows, expert(x[rows]) * w[rows, slot, None])
        counted = ids if valid is None else ids[valid.reshape(-1)]
        self.load = torch.bincount(counted.reshape(-1), minlength=len(self.experts))
        return (out + self.shared_experts(x)).view(shape)


class Block(nn.Module):
    def __init__(self, c, moe):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = MLA(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = MoE(c) if moe else MLP(c["hidden_size"], c["intermediate_size"])
        self.moe = moe

    def forward(self, h, pos, mask, cache=None, valid=None):
        h = h + self.self_attn(self.input_layernorm(h), pos, mask, cache)
        x = self.post_attention_layernorm(h)
        return h + (self.mlp(x, valid) if self.moe else self.mlp(x))


class MTP(nn.Module):
    """DeepSeek-V3's multi-token-prediction module (depth 1). Embedding and output head are
    shared with the main model (exported as copies under the MTP layer's own names)."""

    def __init__(self, c):
        super().__init__()
        D = c["hidden_size"]
        self.enorm = RMSNorm(D, c["rms_norm_eps"])
        self.hnorm = RMSNorm(D, c["rms_norm_eps"])
        self.eh_proj = nn.Linear(2 * D, D, bias=False)
        self.block = Block(c, moe=True)
        self.norm = RMSNorm(D, c["rms_norm_eps"])


class TinyV3(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        D, V = c["hidden_size"], c["vocab_size"]
        self.embed_tokens = nn.Embedding(V, D)
        nn.init.normal_(self.embed_tokens.weight, std=0.5)
        self.layers = nn.ModuleList([Block(c, i >= c["first_k_dense_replace"])
                                     for i in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(D, c["rms_norm_eps"])
        self.lm_head = nn.Linear(D, V, bias=False)
        self.mtp = MTP(c)

    def moe_layers(self):
        return [l.mlp for l in self.layers if l.moe] + [self.mtp.block.mlp]

    def forward(self, tokens, pos=None, key_mask=None, caches=None, mtp=False, valid=None):
        """tokens [B, T]; pos [B, T] (default 0..T-1); key_mask [B, S] True for real keys (S =
        cached + T). Returns logits [B, T, V] (and MTP logits [B, T-1, V] for t+2 if mtp)."""
        B, T = tokens.shape
        if pos is None:
            pos = torch.arange(T).expand(B, T)
        past = 0 if not caches or "k" not in caches[0] else caches[0]["k"].shape[2]
        S = past + T
        causal = torch.ones(T, S, dtype=torch.bool).tril(past)  # query t sees keys <= past + t
        mask = causal[None, None]
        if key_mask is not None:
            # Padding keys are hidden; every query still sees itself, so that a padding
            # query's row is not all -inf (its NaN would reach real rows through 0 * NaN).
            own = torch.zeros(T, S, dtype=torch.bool)
            own[torch.arange(T), past + torch.arange(T)] = True
            mask = (mask & key_mask[:, None, None, :]) | own[None, None]
        h = self.embed_tokens(tokens)
        for i, layer in enumerate(self.layers):
            h = layer(h, pos, mask, None if caches is None else caches[i], valid)
        logits = self.lm_head(self.norm(h))
        if not mtp:
            return logits
        m = self.mtp
        e = m.enorm(self.embed_tokens(tokens[:, 1:]))
        x = m.eh_proj(torch.cat([e, m.hnorm(h[:, :-1])], -1))
        vm = None if valid is None else valid[:, 1:]
        x = m.block(x, pos[:, :-1], mask[..., :-1, :-1] if key_mask is not None else causal[None, None, :-1, :-1], None, vm)
        return logits, self.lm_head(m.norm(x))

    def hf_state(self):
        """HF-named float32 numpy arrays (the MTP layer at index num_hidden_layers)."""
        L = self.c["num_hidden_layers"]
        out = {}
        for name, t in self.state_dict().items():
            a = t.detach().cpu().float().numpy().copy()
            if name.startswith("mtp."):
                rest = name[4:]
                if rest.startswith("block."):
                    rest = rest[6:]
                elif rest == "norm.weight":
                    rest = "shared_head.norm.weight"
                out[f"model.layers.{L}.{rest}"] = a
            elif name == "lm_head.weight":
                out[name] = a
                out[f"model.layers.{L}.shared_head.head.weight"] = a.copy()
            elif name == "embed_tokens.weight":
                out["model.embed_tokens.weight"] = a
                out[f"model.layers.{L}.embed_tokens.weight"] = a.copy()
            else:
                out["model." + name] = a
        return out


def param_count(model):
    return sum(p.numel() for p in model.parameters())


def init_weights(model, seed):
    torch.manual_seed(seed)
    for name, p in model.named_parameters():
        if name.endswith("layernorm.weight") or name.endswith("norm.weight"):
            nn.init.ones_(p)
        elif p.dim() == 2 and "embed" not in name:
            nn.init.normal_(p, std=p.shape[1] ** -0.5)
            if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                p.data *= 0.5 / math.sqrt(model.c["num_hidden_layers"])
        elif "embed" in name:
            nn.init.normal_(p, std=0.5)
