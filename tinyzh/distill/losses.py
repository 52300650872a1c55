"""Distillation losses, looked up by name. Pure functions of tensors; ``_S`` student, ``_T`` teacher.

Shapes: B batch, T tokens, D width, H heads, C classes, P masked positions, V vocabulary.
``mask`` is the (B, T) 0/1 ``inputs_mask``: padded tokens never count, as queries or as keys.

- ``hidden_mse``    TinyBERT eq. 8/9: MSE between (projected) student and teacher hidden states.
- ``hidden_normalised``  the same squared error over the teacher's own spread about its mean state in
                    the batch (1 - R^2): scale-free, so a teacher with small hidden states (e5-small:
                    variance ~0.03 per feature) does not leave the hidden terms ~50x below the attention ones.
- ``attention_mse`` TinyBERT eq. 7: MSE between *pre-softmax* attention scores, averaged over heads.
- ``attention_kl``  MiniLM (Wang et al. 2020) eq. 3: KL(teacher probs || student probs) per query row.
- ``attention_relation``  MiniLMv2 (Wang et al. 2021): KL of query-query, key-key and value-value
                    relations over R relation heads (``tinyzh.distill.relations``); any width and heads.
- ``soft_ce``       TinyBERT eq. 10: cross-entropy between temperature-scaled teacher and student
                    distributions (no tau^2 factor, as in the paper's code).
- ``hard_ce`` / ``mlm_ce``  plain cross-entropy on gold labels / masked-LM labels.

Usage::

    loss = LOSSES["attention_mse"](scores_S, scores_T, mask)
    terms = match_losses(matches, adapted_S, adapted_T)   # {"hidden_3": tensor, ...}
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from tinyzh.distill.dropout import compiling
from tinyzh.distill.relations import relation_kl


def _token_mask(mask: torch.Tensor) -> torch.Tensor:
    return mask.to(torch.float32)


class _MaskedSquaredError(torch.autograd.Function):
    """sum(((a - b) * m)^2), accumulated in fp32, for a 0/1 mask ``m`` broadcast over ``a``; saves only the difference.

    Autograd of the plain expression keeps the casts, the difference, the power and the mask
    product, and goes through each again backward: on (B, H, T, T) attention scores those passes
    cost more than the student's attention matmuls. Here: one difference, one in-place mask (none
    when every position is real), one reduction forward; one multiply backward, to ``a``'s dtype.
    Two bf16 inputs (student and teacher under ``--precision bf16``) keep their difference in bf16:
    the gradient is rounded to bf16 either way, and the squares are summed in fp32 (the loss moves by
    about 1e-4 relative); no fp32 tensor is kept for the backward, and the backward needs no cast.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor, b: torch.Tensor,
                m: torch.Tensor) -> torch.Tensor:
        if a.dtype == b.dtype == torch.bfloat16:
            diff = a - b
        else:
            diff = a.to(torch.float32, copy=True).sub_(b)  # a copy: never a's own storage
        # On CPU the check is cheaper than the pass; not while dynamo traces (a data-dependent branch
        # would split --compile's graph).
        if a.device.type != "cpu" or compiling() or not bool(m.all()):
            diff.mul_(m)  # 0/1: (d m)^2 = d^2 m, and the gradient 2 d m is the same saved tensor
        ctx.save_for_backward(diff)  # type: ignore[attr-defined]
        ctx.dtypes = (a.dtype, b.dtype)  # type: ignore[attr-defined]
        flat = diff.reshape(-1).float()  # a bf16 difference squared exactly in fp32 (faster than norm(dtype=))
        return torch.dot(flat, flat)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[
            torch.Tensor | None, torch.Tensor | None, None]:
        (diff,) = ctx.saved_tensors  # type: ignore[attr-defined]
        dtype_a, dtype_b = ctx.dtypes  # type: ignore[attr-defined]
        needs_a, needs_b = ctx.needs_input_grad[:2]  # type: ignore[attr-defined]
        return (_scaled(diff, dtype_a, 2.0 * grad) if needs_a else None,
                _scaled(diff, dtype_b, -2.0 * grad) if needs_b else None, None)


def _scaled(diff: torch.Tensor, dtype: torch.dtype, factor: torch.Tensor) -> torch.Tensor:
    """``diff * factor`` as a new tensor of ``dtype`` (the saved difference is never changed)."""
    if diff.dtype == dtype:
        return diff * factor  # a 0-dim fp32 factor: multiplied in fp32, rounded once (not factor.to(dtype))
    # Cast, then scale in place: mul(out=) into another dtype is several times slower on CPU.
    return diff.to(dtype, copy=True).mul_(factor)


def hidden_mse(h_S: torch.Tensor, h_T: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D) x2, (B, T) -> scalar: mean over real tokens and the D features of (h_S - h_T)^2."""
    m = _token_mask(mask).unsqueeze(-1)  # (B, T, 1)
    total = _MaskedSquaredError.apply(h_S, h_T, m)
    return total / (m.sum() * h_S.size(-1)).clamp_min(1.0)


def hidden_normalised(h_S: torch.Tensor, h_T: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D) x2, (B, T) -> scalar: sum of (h_S - h_T)^2 over real tokens, over the teacher's
    sum of (h_T - mean)^2, ``mean`` its per-feature mean over the batch's real tokens.

    0 for a perfect match, 1 for a student that outputs the teacher's mean state for every token.
    The denominator is the teacher's (no gradient): the loss is hidden_mse times a per-batch constant.
    """
    m = _token_mask(mask).unsqueeze(-1)  # (B, T, 1)
    total = _MaskedSquaredError.apply(h_S, h_T, m)
    with torch.no_grad():
        t = h_T.detach().float()
        mean = (t * m).sum((0, 1)) / m.sum().clamp_min(1.0)  # (D,)
        spread = ((t - mean) * m).pow(2).sum()
    return total / spread.clamp_min(1e-12)


def _pair_mask(mask: torch.Tensor) -> torch.Tensor:
    """(B, T) -> (B, 1, T, T): 1 where both the query and the key are real tokens."""
    m = _token_mask(mask)
    return (m[:, None, :, None] * m[:, None, None, :])


def attention_mse(s_S: torch.Tensor, s_T: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, H, T, T) pre-softmax scores x2, (B, T) -> scalar: mean over heads and real (query, key) pairs.

    The original code zeroes scores <= -100 (the masked ones) and averages over every cell; here
    padded cells are left out of both the sum and the count, so padding does not dilute the loss.
    """
    pairs = _pair_mask(mask)  # (B, 1, T, T)
    total = _MaskedSquaredError.apply(s_S, s_T, pairs)
    return total / (pairs.sum() * s_S.size(1)).clamp_min(1.0)


def attention_kl(s_S: torch.Tensor, s_T: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, H, T, T) x2, (B, T) -> scalar: KL(softmax(s_T) || softmax(s_S)) over keys, mean over real queries and heads."""
    keys = mask[:, None, None, :].bool()  # (B, 1, 1, T)
    neg = torch.finfo(torch.float32).min
    logp_S = torch.log_softmax(s_S.float().masked_fill(~keys, neg), dim=-1)
    logp_T = torch.log_softmax(s_T.float().masked_fill(~keys, neg), dim=-1)
    p_T = logp_T.exp()
    kl = (p_T * (logp_T - logp_S)).masked_fill(~keys, 0.0).sum(-1)  # (B, H, T)
    queries = _token_mask(mask)[:, None, :]  # (B, 1, T)
    return (kl * queries).sum() / (queries.sum() * s_S.size(1)).clamp_min(1.0)


def soft_ce(logits_S: torch.Tensor, logits_T: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """(B, C) x2 -> scalar: mean over B of sum over C of -softmax(z_T / tau) * log_softmax(z_S / tau)."""
    p_T = torch.softmax(logits_T.float() / temperature, dim=-1)
    logp_S = torch.log_softmax(logits_S.float() / temperature, dim=-1)
    return -(p_T * logp_S).sum(-1).mean()


def hard_ce(logits_S: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B, C), (B,) class ids -> scalar cross-entropy over the labelled rows (an id < 0 has no label).

    A batch without a labelled row gives 0, not NaN (sum over none / clamped count).
    """
    labelled = labels >= 0
    total = F.cross_entropy(logits_S.float(), labels.clamp_min(0), reduction="none")  # (B,)
    return (total * labelled).sum() / labelled.sum().clamp_min(1)


def mlm_ce(logits_S: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(P, V) logits at the masked positions, (P,) original token ids -> scalar cross-entropy."""
    if labels.numel() == 0:
        return logits_S.sum() * 0.0
    return F.cross_entropy(logits_S.float(), labels)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "hidden_mse": hidden_mse,
    "hidden_normalised": hidden_normalised,
    "attention_mse": attention_mse,
    "attention_kl": attention_kl,
    "attention_relation": relation_kl,
    "soft_ce": soft_ce,
    "hard_ce": hard_ce,
    "mlm_ce": mlm_ce,
}


def match_losses(matches: list, out_S: dict, out_T: dict, options: dict[str, dict] | None = None,
                 ) -> dict[str, torch.Tensor]:
    """Weighted loss of every :class:`~tinyzh.distill.matches.LayerMatch`, keyed by ``match.name``.

    ``out_S`` / ``out_T`` are adaptor dicts; the student's hidden states are already projected to the
    teacher's width (``wrappers.StudentForward``); ``options`` holds keyword arguments per loss name
    (``{"attention_relation": {"heads": 12}}``).
    """
    options = options or {}
    mask = out_S["inputs_mask"]
    terms: dict[str, torch.Tensor] = {}
    for match in matches:
        feature_S = out_S[match.feature][match.layer_S]
        feature_T = out_T[match.feature][match.layer_T]
        terms[match.name] = match.weight * LOSSES[match.loss](feature_S, feature_T, mask, **options.get(match.loss, {}))
    return terms
