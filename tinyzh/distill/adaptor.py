"""Model outputs -> the fixed keys every loss reads, and attention scores only where a loss needs them.

TextBrewer's idea: whatever model runs, distillation code sees one dict::

    {"logits": (B, C) or (P, V) or None,   # class logits, or MLM logits at the P masked positions
     "hidden": tuple of L+1 (B, T, D),     # embeddings output, then each transformer layer's output
     "attention": {layer: (B, H, T, T)},   # PRE-softmax scores, layer 1-based, only captured layers
     "qkv": {layer: (q, k, v)},            # each (B, H, T, d) before scaling, only layers of capture_qkv
     "inputs_mask": (B, T) 0/1}

Attention scores come from a custom attention function registered with transformers 5's
``AttentionInterface`` under the name ``tinyzh_capture``. BERT's self-attention module calls it with
its own ``layer_idx``; for the layers listed by :func:`capture_scores` it computes ``q k^T * scale``
once, keeps that tensor (with its autograd graph for the student) and finishes the softmax by hand;
every other layer goes straight to PyTorch's fused ``scaled_dot_product_attention`` (the ``sdpa``
path), except a frozen teacher's short bf16 sequences on CPU, where the explicit ops are faster.
For the layers listed by :func:`capture_qkv` it also keeps the query, key and value it was called
with (MiniLMv2's relations need them; they cost no extra compute).
``output_attentions=True`` would force the slow eager path on *every* layer and return post-softmax
probabilities, which is the wrong quantity for TinyBERT's loss anyway. Usage::

    capture_scores(teacher, layers={3, 6, 9, 12})
    out = teacher(input_ids, attention_mask=mask, output_hidden_states=True)
    adapted = adapt(out, teacher, mask)        # adapted["attention"][3] -> (B, H, T, T)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from tinyzh.distill.dropout import zero_dropped

ATTN_NAME = "tinyzh_capture"
_registered = False


def _explicit_is_faster(query: torch.Tensor) -> bool:
    """True for a frozen model's short low-precision sequences on CPU, where q k^T, softmax, p v beats sdpa.

    PyTorch's CPU flash kernel runs a BERT-base layer at (32, 12, 128, 64) bf16 in about 17 ms; the
    three explicit ops take about 9 ms inside a teacher forward. With gradients, in fp32 or from 256
    tokens on, the fused kernel wins.
    """
    return (query.device.type == "cpu" and not torch.is_grad_enabled()
            and query.dtype in (torch.bfloat16, torch.float16) and query.size(2) <= 128)


def _explicit_attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float,
    keep_scores: bool,
) -> torch.Tensor:
    """softmax(q k^T * scaling) v by hand, (B, T, H, d); the pre-softmax scores go on the module if asked."""
    # Scaling the (B, H, T, d) query is T/d times less work than scaling the (B, H, T, T) scores.
    scores = torch.matmul(query * scaling, key.transpose(2, 3))  # (B, H, T, T), pre-softmax
    if keep_scores:
        module.tinyzh_scores = scores
    masked = scores
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            masked = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
        else:  # an additive float mask
            masked = scores + attention_mask
    probs = torch.softmax(masked, dim=-1)
    # tinyzh's dropout (torch's mask costs 3x on CPU); its 1/(1-p) scales the T/d times smaller value.
    probs, rescale = zero_dropped(probs, p=dropout, training=module.training)
    if rescale != 1.0:
        value = value * rescale
    return torch.matmul(probs, value).transpose(1, 2).contiguous()


def _capture_attention(
    module: nn.Module,
    query: torch.Tensor,  # (B, H, T, d)
    key: torch.Tensor,  # (B, H, T, d)
    value: torch.Tensor,  # (B, H, T, d)
    attention_mask: torch.Tensor | None,  # bool (B, 1, T, T), True = attend; or None (no padding)
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Explicit softmax (scores kept on the module) for captured layers; sdpa, or explicit where faster, else."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if getattr(module, "tinyzh_qkv", False):
        module.tinyzh_qkv_out = (query, key, value)
    capture = getattr(module, "tinyzh_capture", False)
    if not capture and not _explicit_is_faster(query):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    output = _explicit_attention(module, query, key, value, attention_mask, scaling, dropout, keep_scores=capture)
    return output, None


def register() -> None:
    """Register ``tinyzh_capture`` (attention function + its mask builder, sdpa's boolean mask)."""
    global _registered
    if _registered:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTN_NAME, _capture_attention)
    AttentionMaskInterface.register(ATTN_NAME, sdpa_mask)
    _registered = True


def self_attentions(model: nn.Module) -> list[nn.Module]:
    """The BERT self-attention modules of ``model`` in layer order (index 0 = layer 1)."""
    found = [m for m in model.modules() if type(m).__name__.endswith("SelfAttention") and hasattr(m, "query")]
    return sorted(found, key=lambda m: m.layer_idx if m.layer_idx is not None else 0)


def capture_scores(model: nn.Module, layers: Iterable[int]) -> None:
    """Switch ``model`` to ``tinyzh_capture`` and keep pre-softmax scores of ``layers`` (1-based)."""
    wanted, modules = _use_capture(model, layers)
    for i, module in enumerate(modules, start=1):
        module.tinyzh_capture = i in wanted
        module.tinyzh_scores = None


def capture_qkv(model: nn.Module, layers: Iterable[int]) -> None:
    """Switch ``model`` to ``tinyzh_capture`` and keep the query, key and value of ``layers`` (1-based)."""
    wanted, modules = _use_capture(model, layers)
    for i, module in enumerate(modules, start=1):
        module.tinyzh_qkv = i in wanted
        module.tinyzh_qkv_out = None


def _use_capture(model: nn.Module, layers: Iterable[int]) -> tuple[set[int], list[nn.Module]]:
    """Register and select ``tinyzh_capture`` on ``model``; the wanted layers, checked, and the modules."""
    register()
    wanted = set(layers)
    modules = self_attentions(model)
    bad = [layer for layer in wanted if not 1 <= layer <= len(modules)]
    if bad:
        raise ValueError(f"attention layers {sorted(bad)} out of range 1..{len(modules)}")
    config = model.config
    config._attn_implementation = ATTN_NAME
    for m in model.modules():  # sub-configs (e.g. model.bert.config) are the same object in BERT
        if hasattr(m, "config") and m.config is not config and hasattr(m.config, "_attn_implementation"):
            m.config._attn_implementation = ATTN_NAME
    return wanted, modules


def release_capture(model: nn.Module) -> None:
    """Back to plain ``sdpa`` (call before saving or evaluating a model)."""
    for module in self_attentions(model):
        module.tinyzh_capture = False
        module.tinyzh_scores = None
        module.tinyzh_qkv = False
        module.tinyzh_qkv_out = None
    model.config._attn_implementation = "sdpa"


def take_scores(model: nn.Module) -> dict[int, torch.Tensor]:
    """Scores captured by the last forward, {layer (1-based): (B, H, T, T)}; clears them."""
    return _take(model, "tinyzh_capture", "tinyzh_scores")


def take_qkv(model: nn.Module) -> dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(query, key, value) captured by the last forward, {layer (1-based): 3 x (B, H, T, d)}; clears them."""
    return _take(model, "tinyzh_qkv", "tinyzh_qkv_out")


def _take(model: nn.Module, flag: str, attribute: str) -> dict[int, Any]:
    """``attribute`` of every self-attention module with ``flag`` on, by 1-based layer; cleared after."""
    found = {}
    for i, module in enumerate(self_attentions(model), start=1):
        value = getattr(module, attribute, None)
        if getattr(module, flag, False) and value is not None:
            found[i] = value
            setattr(module, attribute, None)
    return found


def adapt(
    hidden: tuple[torch.Tensor, ...],
    attention: dict[int, torch.Tensor],
    inputs_mask: torch.Tensor,
    logits: torch.Tensor | None = None,
    qkv: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None = None,
) -> dict[str, Any]:
    """The fixed-key dict of the module docstring."""
    return {"logits": logits, "hidden": tuple(hidden), "attention": attention, "qkv": qkv or {},
            "inputs_mask": inputs_mask}
