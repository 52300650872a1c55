"""A frozen bf16 teacher's linear layers as oneDNN fused ops on CPU, and freed memory kept for reuse.

On a CPU with AMX or AVX-512 bf16 the teacher's matmuls are so fast that the element-wise work
around them is a third of its forward: GELU over (B, T, 3072), the bias copy ``addmm`` makes before
every GEMM, the residual add before each LayerNorm. oneDNN applies all three inside the GEMM as
post-ops (``torch.ops.mkldnn._linear_pointwise``, the kernel inductor's CPU fusions emit):

- ``*Intermediate``: ``gelu(dense(h))``  -> one GEMM with an exact-GELU (erf) post-op;
- ``*Output`` / ``*SelfOutput``: ``LayerNorm(dense(h) + residual)`` -> one GEMM with a bias and
  add post-op, then the LayerNorm;
- query, key and value: one GEMM each with the bias as a post-op.

Weights are shared with the model, not copied; only the frozen teacher (no gradients: the fused ops
have no backward) under ``--precision bf16`` on a CPU whose oneDNN runs bf16 natively, and not under
``--compile`` (inductor fuses the graph itself). fp32 is left as it is: there the GEMMs dominate and
the fused ops gave nothing measurable. The result equals the unfused forward within bf16 rounding
(GELU and the add now see the fp32 accumulator before rounding, once).

:func:`keep_freed_memory` stops glibc from handing every freed (B, H, T, T) buffer back to the
kernel and faulting fresh zeroed pages in for the next one: about 47k page faults per bf16 step.

Usage::

    if can_fuse(precision, device, compiled=False):
        fuse_teacher(teacher)             # -> number of modules replaced
    keep_freed_memory()                   # once per process, CPU runs
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import torch
from torch import nn

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc <malloc.h>


def _linear_pointwise() -> object | None:
    """oneDNN's fused linear (``torch.ops.mkldnn._linear_pointwise``), or None where this build lacks it."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


def bf16_supported() -> bool:
    """True when oneDNN runs bf16 GEMMs natively on this CPU (else the fused ops refuse bf16)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def can_fuse(dtype: torch.dtype | None, device: torch.device, compiled: bool) -> bool:
    """Whether :func:`fuse_teacher` applies: bf16 on a CPU with native bf16, oneDNN present, eager."""
    return (dtype == torch.bfloat16 and device.type == "cpu" and not compiled
            and _linear_pointwise() is not None and bf16_supported())


class FusedIntermediate(nn.Module):
    """``gelu(dense(h))`` as one oneDNN GEMM with an exact-GELU post-op; (B, T, D) -> (B, T, F)."""

    def __init__(self, original: nn.Module) -> None:
        super().__init__()
        self.dense = original.dense

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        op = torch.ops.mkldnn._linear_pointwise
        return op(hidden_states, self.dense.weight, self.dense.bias, "gelu", [], "none")


class FusedOutput(nn.Module):
    """``LayerNorm(dense(h) + residual)`` with the bias and the add as GEMM post-ops (eval: no dropout)."""

    def __init__(self, original: nn.Module) -> None:
        super().__init__()
        self.dense, self.LayerNorm = original.dense, original.LayerNorm

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        op = torch.ops.mkldnn._linear_pointwise.binary
        return self.LayerNorm(op(hidden_states, input_tensor, self.dense.weight, self.dense.bias, "add"))


class FusedLinear(nn.Module):
    """``nn.Linear`` without ``addmm``'s bias copy: the bias is a GEMM post-op; keeps ``weight`` and ``bias``."""

    def __init__(self, original: nn.Linear) -> None:
        super().__init__()
        self.weight, self.bias = original.weight, original.bias
        self.in_features, self.out_features = original.in_features, original.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")


def _exact_gelu(module: nn.Module) -> bool:
    """The module's activation is erf GELU (BERT's ``gelu``), not the tanh approximation or another one."""
    act = getattr(module, "intermediate_act_fn", None)
    if isinstance(act, nn.GELU):
        return act.approximate == "none"
    return type(act).__name__ == "GELUActivation" and getattr(act, "act", None) is nn.functional.gelu


def _is_output(module: nn.Module) -> bool:
    """A BERT ``*Output`` block: ``dense``, ``dropout`` and ``LayerNorm(dense(h) + residual)``."""
    return (type(module).__name__.endswith("Output") and isinstance(getattr(module, "dense", None), nn.Linear)
            and isinstance(getattr(module, "LayerNorm", None), nn.LayerNorm)
            and isinstance(getattr(module, "dropout", None), nn.Dropout))


def _replacement(name: str, child: nn.Module) -> nn.Module | None:
    """The fused stand-in for ``child`` (attribute ``name`` of its parent), or None to keep it."""
    kind = type(child).__name__
    if kind.endswith("Intermediate") and isinstance(getattr(child, "dense", None), nn.Linear) and _exact_gelu(child):
        return FusedIntermediate(child)
    if _is_output(child):
        return FusedOutput(child)
    if name in ("query", "key", "value") and type(child) is nn.Linear:
        return FusedLinear(child)
    return None


def fuse_teacher(teacher: nn.Module) -> int:
    """Swap ``teacher``'s BERT feed-forward, output and q/k/v blocks for the fused ones; returns how many.

    Call after the teacher is in its final dtype and frozen; it must then run without gradients.
    Modules that do not match (another activation, another block layout) are left unfused.
    """
    swapped = 0
    for parent in list(teacher.modules()):
        for name, child in list(parent.named_children()):
            fused = _replacement(name, child)
            if fused is not None:
                setattr(parent, name, fused)
                swapped += 1
    return swapped


def keep_freed_memory() -> bool:
    """Keep freed heap memory in the process (glibc only): no mmap per large tensor, no trimming.

    PyTorch's CPU tensors come from malloc; glibc serves each one above its mmap threshold with a
    fresh mapping and unmaps it on free, so every step faults in (and zeroes) its large activations
    again. The process keeps its peak heap instead, which a training run reaches in its first step
    anyway. Returns whether the settings took (False off glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
