"""A frozen bf16 teacher's linear layers as oneDNN fused ops on CPU, and freed memory kept for reuse.

On a CPU with AMX or AVX-512 bf16 the teacher's matmuls are so fast that the element-wise work
around them is a large share of its forward: GELU over (B, T, 3072), the bias copy ``addmm`` makes
before every GEMM, the residual add before each LayerNorm. oneDNN applies all three inside the GEMM
as post-ops (``torch.ops.mkldnn._linear_pointwise``, the kernel inductor's CPU fusions emit):

- ``*Intermediate``: ``gelu(dense(h))``  -> one GEMM with an exact-GELU (erf) post-op;
- ``*Output`` / ``*SelfOutput``: ``LayerNorm(dense(h) + residual)`` -> one GEMM with a bias and
  add post-op, then the LayerNorm;
- query, key and value: one GEMM each with the bias as a post-op.

A block is fused only when it has exactly BERT's children and forward arguments and, run once on a
small random input, gives what the original gives (a family that lays the block out otherwise, such
as a pre-LayerNorm one, keeps its own). Weights are shared, not copied, and state-dict names stay.
The fused ops have no backward: with gradients on or in training mode a fused block runs the plain
ops. It applies to the frozen teacher under ``--precision bf16`` on a CPU with native bf16 matmuls
(``avx512_bf16`` or AMX), not under ``--compile`` (inductor fuses the graph itself). fp32 is left as
it is: there the GEMMs dominate and the fused ops gave nothing measurable.

:func:`keep_freed_memory` stops glibc from handing every freed (B, H, T, T) buffer back to the
kernel and faulting fresh zeroed pages in for the next one (about 47k page faults per bf16 step).

Usage::

    if can_fuse(precision, device, compiled=False):
        fuse_teacher(teacher)             # -> number of blocks replaced
    keep_freed_memory()                   # once per process, CPU runs
"""

from __future__ import annotations

import copy
import ctypes
import inspect
import os
import platform
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tinyzh.distill.models import replace_modules

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc <malloc.h>
OPT_OUT_ENV = "TINYZH_SYSTEM_MALLOC"  # set to 1: leave malloc as the user or the system set it
# A user's own malloc settings, or another allocator, win over keep_freed_memory.
MALLOC_ENVS = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")
ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")


def _linear_pointwise() -> Any | None:
    """oneDNN's fused linear (``torch.ops.mkldnn._linear_pointwise``), or None where this build lacks it."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


def bf16_native() -> bool:
    """True on CPUs with bf16 matmul instructions (AVX-512 BF16 or AMX).

    The fusion is measured on both kinds (docs/distill.md). oneDNN also accepts bf16 on AVX-512 CPUs
    without them, by conversion; nobody measured that here.
    """
    try:
        native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        return bool(native and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def can_fuse(dtype: torch.dtype | None, device: torch.device, compiled: bool) -> bool:
    """Whether :func:`fuse_teacher` applies: bf16 on a CPU with native bf16, oneDNN present, eager."""
    return (dtype == torch.bfloat16 and device.type == "cpu" and not compiled
            and _linear_pointwise() is not None and bf16_native())


def _plain(module: nn.Module) -> bool:
    """Gradients on or training mode: the fused ops have no backward and no dropout."""
    return module.training or torch.is_grad_enabled()


class FusedIntermediate(nn.Module):
    """``gelu(dense(h))`` as one oneDNN GEMM with an exact-GELU post-op; (B, T, D) -> (B, T, F)."""

    def __init__(self, original: nn.Module) -> None:
        super().__init__()
        self.dense, self.intermediate_act_fn = original.dense, original.intermediate_act_fn
        self._op = _linear_pointwise()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if _plain(self):
            return self.intermediate_act_fn(self.dense(hidden_states))
        return self._op(hidden_states, self.dense.weight, self.dense.bias, "gelu", [], "none")


class FusedOutput(nn.Module):
    """``LayerNorm(dense(h) + residual)`` with the bias and the add as GEMM post-ops (eval: no dropout)."""

    def __init__(self, original: nn.Module) -> None:
        super().__init__()
        self.dense, self.dropout, self.LayerNorm = original.dense, original.dropout, original.LayerNorm
        self._op = _linear_pointwise().binary

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        if _plain(self):
            return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)
        return self.LayerNorm(self._op(hidden_states, input_tensor, self.dense.weight, self.dense.bias, "add"))


class FusedLinear(nn.Module):
    """``nn.Linear`` without ``addmm``'s bias copy: the bias is a GEMM post-op; keeps ``weight`` and ``bias``."""

    def __init__(self, original: nn.Linear) -> None:
        super().__init__()
        self.weight, self.bias = original.weight, original.bias
        self.in_features, self.out_features = original.in_features, original.out_features
        self._op = _linear_pointwise()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _plain(self):
            return F.linear(x, self.weight, self.bias)
        return self._op(x, self.weight, self.bias, "none", [], "")


FUSED = (FusedIntermediate, FusedOutput, FusedLinear)


def _exact_gelu(act: Any) -> bool:
    """erf GELU (BERT's ``gelu``), not the tanh approximation or another activation."""
    if isinstance(act, nn.GELU):
        return act.approximate == "none"
    return type(act).__name__ == "GELUActivation" and getattr(act, "act", None) is F.gelu


def _shaped_like(module: nn.Module, children: set[str], arguments: list[str]) -> bool:
    """Exactly these child modules, no weights or hooks of its own, and ``forward(self, *arguments)``."""
    if {name for name, _ in module.named_children()} != children:
        return False
    if any(True for _ in module.named_parameters(recurse=False)) or any(True for _ in module.named_buffers(recurse=False)):
        return False
    if module._forward_hooks or module._forward_pre_hooks:
        return False
    return list(inspect.signature(type(module).forward).parameters)[1:] == arguments


def _candidate(name: str, child: nn.Module) -> nn.Module | None:
    """The fused stand-in for ``child`` (attribute ``name`` of its parent) if its layout is BERT's."""
    kind = type(child).__name__
    if isinstance(child, FUSED):
        return None
    if (kind.endswith("Intermediate") and _shaped_like(child, {"dense", "intermediate_act_fn"}, ["hidden_states"])
            and isinstance(child.dense, nn.Linear) and _exact_gelu(child.intermediate_act_fn)):
        return FusedIntermediate(child)
    if (kind.endswith("Output") and _shaped_like(child, {"dense", "dropout", "LayerNorm"},
                                                 ["hidden_states", "input_tensor"])
            and isinstance(child.dense, nn.Linear) and isinstance(child.LayerNorm, nn.LayerNorm)):
        return FusedOutput(child)
    if name in ("query", "key", "value") and type(child) is nn.Linear:
        return FusedLinear(child)
    return None


@torch.no_grad()
def _agrees(original: nn.Module, fused: nn.Module) -> bool:
    """On one small random input the fused block is as close to the original run in fp32 as the
    original itself is (at most twice its rounding error, plus a hair); False if the op fails."""
    weight = fused.dense.weight if hasattr(fused, "dense") else fused.weight
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randn(1, 3, weight.size(1), generator=g)]
    if isinstance(fused, FusedOutput):
        inputs.append(torch.randn(1, 3, weight.size(0), generator=g))
    low = [x.to(weight.dtype) for x in inputs]
    try:
        got = fused(*low).float()
    except RuntimeError:  # a shape or dtype this oneDNN build does not take
        return False
    plain = original(*low).float()
    exact = copy.deepcopy(original).float()(*[x.float() for x in low])
    error_fused, error_plain = (got - exact).abs().max().item(), (plain - exact).abs().max().item()
    return error_fused <= 2 * error_plain + 1e-5 * (1.0 + exact.abs().max().item())


def fuse_teacher(teacher: nn.Module) -> int:
    """Swap ``teacher``'s BERT feed-forward, output and q/k/v blocks for the fused ones; returns how many.

    Call once the teacher is frozen, in eval mode and in its final dtype and device (CPU). Blocks of
    another layout, or whose fused form disagrees with them on a probe input, are left as they are.
    """
    if _linear_pointwise() is None:
        return 0
    return replace_modules(teacher, _checked_candidate)


def _checked_candidate(name: str, child: nn.Module) -> nn.Module | None:
    """:func:`_candidate`, kept only when the probe agrees."""
    fused = _candidate(name, child)
    if fused is None:
        return None
    fused.training = False  # the wrapper only: its shared parts keep the original's mode
    return fused if _agrees(child, fused) else None


def _glibc() -> bool:
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def _user_allocator() -> str | None:
    """Why malloc is the user's to set: the opt-out variable, their own settings, another allocator."""
    if os.environ.get(OPT_OUT_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return OPT_OUT_ENV
    for name in MALLOC_ENVS:
        value = os.environ.get(name)
        if value is not None and (name != "GLIBC_TUNABLES" or "glibc.malloc." in value):
            return name
    preload = os.environ.get("LD_PRELOAD", "")
    return next((a for a in ALLOCATORS if a in preload), None)


def keep_freed_memory() -> bool:
    """Keep freed heap memory in the process (glibc only): no mmap per large tensor, no trimming.

    PyTorch's CPU tensors come from malloc; glibc serves each one above its mmap threshold with a
    fresh mapping and unmaps it on free, so every step faults in (and zeroes) its large activations
    again. With this the process keeps the heap it has used instead (a run's steps reuse it; shapes
    that vary, as padded task batches do, can leave it somewhat larger than one step's peak).
    Skipped off glibc, with ``TINYZH_SYSTEM_MALLOC=1``, when the user set glibc's malloc variables,
    or under a preloaded jemalloc / tcmalloc / mimalloc. Returns whether the settings took.
    """
    if not _glibc() or _user_allocator() is not None:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library: no ldconfig lookup
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
