"""MiniLMv2's multi-head self-attention relations (Wang et al. 2021, "MiniLMv2: Multi-Head
Self-Attention Relation Distillation for Compressing Pretrained Transformers", Findings of ACL 2021,
section 3.1).

The queries (likewise keys, values) of all attention heads of a layer are concatenated into one
(B, T, D) tensor and split again into R *relation* heads of width d_r = D / R, for teacher and
student alike; R is the same on both sides, so teacher and student may differ in width and in
attention heads (d_r differs). Section 3.1's three equations (arXiv:2012.15828), for layer l of the
teacher, layer m of the student, relation head a and the pair (i, j) in {QQ, KK, VV}::

    R_{ij,l,a} = softmax(A_{i,l,a} A_{j,l,a}^T / sqrt(d_r))                  (T, T), a row per token
    L_ij = 1 / (R |x|) * sum_a sum_t KL(R^T_{ij,l,a,t} || R^S_{ij,m,a,t})
    L = sum_ij alpha_ij L_ij     over QQ, KK, VV only

The paper takes alpha_ij = 1 (a sum); here alpha_ij = 1/3 (the mean), so the term has the scale of
one KL and sits beside TinyBERT's hidden-state MSE without retuning. (The MiniLM folder of
microsoft/unilm ships checkpoints and fine-tuning code, not the distillation code.)

Padded tokens are left out as keys (masked before the softmax) and as queries (left out of the
mean, |x| counts real tokens). The paper distils one layer (the last for base-size teachers); here
every attention pair of the layer map gets the term. Usage::

    loss = relation_kl(qkv_S, qkv_T, mask, heads=12)   # qkv_*: (q, k, v), each (B, H, T, d)
"""

from __future__ import annotations

import torch

from tinyzh.errors import ConfigError


def split_relation_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, H, T, d) attention heads -> (B, R, T, D / R) relation heads (concatenate, then split)."""
    b, h, t, d = x.shape
    joined = x.transpose(1, 2).reshape(b, t, h * d)  # (B, T, D): concat_h, as the output projection sees it
    return joined.view(b, t, heads, (h * d) // heads).transpose(1, 2)  # (B, R, T, d_r)


def _log_relation(x: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """(B, R, T, d_r), (B, 1, 1, T) bool -> log softmax(x x^T / sqrt(d_r)) over real keys, (B, R, T, T) fp32."""
    x = x.float()
    scores = torch.matmul(x, x.transpose(-1, -2)) * x.size(-1) ** -0.5
    return torch.log_softmax(scores.masked_fill(~keys, torch.finfo(torch.float32).min), dim=-1)


def relation_kl_one(x_S: torch.Tensor, x_T: torch.Tensor, mask: torch.Tensor, heads: int) -> torch.Tensor:
    """One relation L_ij of (B, H_S, T, d_S) and (B, H_T, T, d_T) vectors, (B, T) mask -> scalar."""
    keys = mask[:, None, None, :].bool()  # (B, 1, 1, T)
    logp_S = _log_relation(split_relation_heads(x_S, heads), keys)
    logp_T = _log_relation(split_relation_heads(x_T, heads), keys)
    kl = (logp_T.exp() * (logp_T - logp_S)).masked_fill(~keys, 0.0).sum(-1)  # (B, R, T)
    queries = mask.to(torch.float32)[:, None, :]  # (B, 1, T)
    return (kl * queries).sum() / (queries.sum() * heads).clamp_min(1.0)


def relation_kl(
    qkv_S: tuple[torch.Tensor, ...], qkv_T: tuple[torch.Tensor, ...], mask: torch.Tensor, heads: int = 1
) -> torch.Tensor:
    """(q, k, v) of a student and a teacher layer -> the mean of the QQ, KK and VV relation KLs (L)."""
    terms = [relation_kl_one(s, t, mask, heads) for s, t in zip(qkv_S, qkv_T, strict=True)]
    return sum(terms) / len(terms)


def check_relation_heads(heads: int, width_S: int, width_T: int) -> None:
    """R must split both widths evenly; the error names the option and the widths."""
    bad = [f"{name} {width}" for name, width in (("student", width_S), ("teacher", width_T)) if width % heads]
    if bad:
        raise ConfigError(
            f"--relation-heads {heads} does not divide the hidden width of the {' and the '.join(bad)}; "
            f"choose a common divisor of {width_S} and {width_T}"
        )
