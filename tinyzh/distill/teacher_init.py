"""``--init-from-teacher``: start a new student from the teacher's weights instead of random ones.

DistilBERT (Sanh et al. 2019, section 3, "we initialize the student from the teacher by taking one
layer out of two") copies every other layer of a same-width teacher. Here the layer map decides:
student layer s starts as teacher layer t for each pair ``s:t`` (the uniform map 12 -> 6 takes
teacher layers 2, 4, ..., 12; 12 -> 4 takes 3, 6, 9, 12), and the embeddings (pair 0:0, or always
when the widths allow) start as the teacher's.

A narrower student (D_S < D_T, or a smaller feed-forward width) gets the *leading slice* of every
teacher tensor: the first D_S embedding columns, the first rows / columns of each linear map, the
first entries of each LayerNorm. With as many attention heads on both sides the slice is taken per
head: student head h gets the first d_S dimensions of teacher head h (query, key, value rows and the
matching input columns of the attention output), so each student head starts from one teacher head
rather than from parts of several. This is a heuristic, not a function-preserving map: the cut
LayerNorm normalises over D_S features, not D_T. What it keeps is the teacher's token embeddings and
per-feature weight statistics, which a random start lacks; whether that helps is measured, not
assumed (benchmarks/quality.py, recipe d). A student wider than the teacher anywhere is refused.

Parameters outside the encoder (the MLM head, the task classifier) stay as built: the prediction
step trains the classifier, and the teacher's label order may differ from the task's. Usage::

    report = init_from_teacher(student, teacher, pairs=[(0, 0), (1, 3), (2, 6), (3, 9), (4, 12)])
    report["copied"], report["cut"], report["kept"]      # parameter counts and names left as built
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from tinyzh.distill.models import encoder_of
from tinyzh.errors import ConfigError

_LAYER = re.compile(r"^encoder\.layer\.(\d+)\.")
_HEAD_ROWS = re.compile(r"attention\.self\.(query|key|value)\.(weight|bias)$")  # out dim = heads x d
_HEAD_COLS = re.compile(r"attention\.output\.dense\.weight$")  # in dim = heads x d


def teacher_name(name: str, layer_of: dict[int, int]) -> str | None:
    """The teacher parameter a student encoder parameter starts from; None for an unmapped layer.

    ``layer_of`` maps 1-based student layers to 1-based teacher layers; names are 0-based.
    """
    found = _LAYER.match(name)
    if found is None:
        return name  # embeddings, pooler
    teacher_layer = layer_of.get(int(found.group(1)) + 1)
    if teacher_layer is None:
        return None
    return f"encoder.layer.{teacher_layer - 1}." + name[found.end():]


def cut(tensor: torch.Tensor, shape: torch.Size, name: str, heads: int | None) -> torch.Tensor:
    """The leading slice of ``tensor`` of ``shape``; per head along the head dimension when ``heads``."""
    if tuple(tensor.shape) == tuple(shape):
        return tensor
    if len(tensor.shape) != len(shape) or any(s > t for s, t in zip(shape, tensor.shape, strict=True)):
        raise ConfigError(
            f"--init-from-teacher: student parameter {name} has shape {tuple(shape)}, larger than the "
            f"teacher's {tuple(tensor.shape)} somewhere; a student must be at most as wide as its teacher"
        )
    if heads and _HEAD_ROWS.search(name):
        tensor = _cut_heads(tensor, 0, shape[0], heads)
    elif heads and _HEAD_COLS.search(name):
        tensor = _cut_heads(tensor, 1, shape[1], heads)
    return tensor[tuple(slice(0, s) for s in shape)]


def _cut_heads(tensor: torch.Tensor, dim: int, size: int, heads: int) -> torch.Tensor:
    """Along ``dim`` (heads x d_T), keep the first ``size / heads`` entries of each head."""
    d_T, d_S = tensor.shape[dim] // heads, size // heads
    moved = tensor.movedim(dim, 0)
    kept = moved.reshape(heads, d_T, *moved.shape[1:])[:, :d_S].reshape(heads * d_S, *moved.shape[1:])
    return kept.movedim(0, dim)


def init_from_teacher(student: nn.Module, teacher: nn.Module, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """Copy (or cut) the teacher's encoder into the student's along ``pairs``; what was done, counted."""
    encoder_S, encoder_T = encoder_of(student), encoder_of(teacher)
    same_heads = student.config.num_attention_heads == teacher.config.num_attention_heads
    heads = student.config.num_attention_heads if same_heads else None
    layer_of = {s: t for s, t in pairs if s > 0}
    state_T = encoder_T.state_dict()
    report: dict[str, Any] = {"copied": 0, "cut": 0, "kept": [], "layers": sorted(layer_of.items())}
    with torch.no_grad():
        for name, param in encoder_S.named_parameters():
            source = teacher_name(name, layer_of)
            if source is None or source not in state_T:
                report["kept"].append(name)
                continue
            value = cut(state_T[source], param.shape, name, heads)
            report["copied" if value.shape == state_T[source].shape else "cut"] += 1
            param.copy_(value.to(param.dtype))
    if not report["copied"] + report["cut"]:
        raise ConfigError("--init-from-teacher: no student parameter has a teacher counterpart; are both "
                          "of the same family (bert, xlm-roberta, ernie...)?")
    return report
