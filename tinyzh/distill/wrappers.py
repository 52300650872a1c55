"""The two forward passes of a distillation step, each returning the adaptor's fixed-key dict.

``StudentForward`` bundles the student and its width projections into one module, so that DDP wraps
exactly the trainable parts and one ``forward`` call does everything the losses need. Usage::

    capture_scores(teacher, attention_layers(matches, "T"))
    precision = Precision.of("bf16")
    prepare_teacher(teacher, precision)
    out_T = teacher_forward(teacher, inputs, hidden=True, logits=False)
    student = StudentForward(model, projections, hidden=True, mlm=False, logits=False)
    with precision.autocast(device):
        out_S = student(inputs, labels)
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from tinyzh.distill.adaptor import adapt, take_qkv, take_scores
from tinyzh.distill.dropout import use_fast_dropout
from tinyzh.distill.models import encoder_of
from tinyzh.hf import mlm_head_of

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """``--precision`` resolved once for a run: the student's autocast dtype and the teacher's weights.

    The teacher is cast by :func:`prepare_teacher` and runs natively in ``dtype``; the student keeps
    fp32 master weights and runs under autocast; fp16 also needs a gradient scaler.
    """

    name: str
    dtype: torch.dtype | None  # None: fp32, no autocast

    @classmethod
    def of(cls, name: str) -> Precision:
        return cls(name, AUTOCAST_DTYPES.get(name))

    @property
    def needs_scaler(self) -> bool:
        return self.name == "fp16"

    def autocast(self, device: torch.device) -> Any:
        """Mixed-precision context for the student (a no-op for fp32)."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)


def prepare_teacher(teacher: nn.Module, precision: Precision | str) -> nn.Module:
    """Hold a frozen teacher's weights in the low-precision dtype and run it natively in it.

    Under autocast a frozen fp32 teacher would have every weight (85M for BERT-base) cast to bf16 on
    every forward (autocast caches only casts of weights that require grad), and every LayerNorm
    output cast back and forth between fp32 and bf16: together about a quarter of a bf16 step here.
    Matmuls see the same bf16 operands either way; LayerNorm and softmax kernels accumulate in fp32.
    """
    precision = Precision.of(precision) if isinstance(precision, str) else precision
    if precision.dtype is not None:
        teacher.to(precision.dtype)
    return teacher


class Projections(nn.Module):
    """Linear maps from the student's width D_S to the teacher's D_T, shared or one per student layer.

    TinyBERT learns one shared W_h (eq. 8, "W_h is a learnable linear transformation"); ``per-layer``
    gives each matched student layer its own. Student layer keys are strings (ModuleDict keys).
    """

    def __init__(self, d_S: int, d_T: int, layers: list[int], mode: str = "shared") -> None:
        super().__init__()
        self.mode = mode
        if mode == "shared":
            self.shared = nn.Linear(d_S, d_T)
        else:
            self.per_layer = nn.ModuleDict({str(layer): nn.Linear(d_S, d_T) for layer in layers})

    def forward(self, layer_S: int, h_S: torch.Tensor) -> torch.Tensor:
        """(B, T, D_S) -> (B, T, D_T)."""
        if self.mode == "shared":
            return self.shared(h_S)
        return self.per_layer[str(layer_S)](h_S)


class StudentForward(nn.Module):
    """Student model + projections; ``forward`` returns the adapted dict with projected hidden states.

    ``hidden``: run the encoder with hidden states (intermediate losses); ``mlm``: MLM logits at the
    masked positions only, (P, V) instead of (B, T, V) — the V x D head is the student's biggest
    matmul; ``logits``: classification logits of a sequence-classification student.
    """

    def __init__(self, model: nn.Module, projections: Projections | None, *, hidden: bool, mlm: bool,
                 logits: bool, proj_layers: set[int] | None = None) -> None:
        super().__init__()
        use_fast_dropout(model)  # the same dropout with a third of the CPU mask cost; no weights change
        self.model = model
        self.projections = projections
        self.hidden, self.mlm, self.logits = hidden, mlm, logits
        self.proj_layers = proj_layers or set()
        if mlm:
            mlm_head_of(model)  # fail now, not at the first step, when there is none

    def forward(self, inputs: dict[str, torch.Tensor], mlm_labels: torch.Tensor | None = None) -> dict[str, Any]:
        mask = inputs["attention_mask"]
        if self.logits:  # task prediction step: the full classifier, nothing else
            out = self.model(**inputs, output_hidden_states=self.hidden)
            hidden = out.hidden_states or ()
            return adapt(self._project(hidden), take_scores(self.model), mask, out.logits, take_qkv(self.model))
        out = encoder_of(self.model)(**inputs, output_hidden_states=True)
        logits = None
        if self.mlm and mlm_labels is not None:
            positions = mlm_labels != -100  # (B, T) bool
            logits = mlm_head_of(self.model)(out.last_hidden_state[positions])  # (P, V); not a submodule twice
        return adapt(self._project(out.hidden_states), take_scores(self.model), mask, logits, take_qkv(self.model))

    def _project(self, hidden: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        if self.projections is None:
            return tuple(hidden)
        return tuple(self.projections(i, h) if i in self.proj_layers else h for i, h in enumerate(hidden))


@torch.no_grad()
def teacher_forward(teacher: nn.Module, inputs: dict[str, torch.Tensor], *, hidden: bool,
                    logits: bool) -> dict[str, Any]:
    """The teacher's adapted dict, without gradients (eval mode is set once at load time), in the
    dtype :func:`prepare_teacher` gave its weights: no autocast."""
    if logits:
        out = teacher(**inputs, output_hidden_states=hidden)
        states, class_logits = out.hidden_states or (), out.logits
    else:
        out = encoder_of(teacher)(**inputs, output_hidden_states=True)
        states, class_logits = out.hidden_states, None
    return adapt(states, take_scores(teacher), inputs["attention_mask"], class_logits, take_qkv(teacher))
