"""Everything one phase of distillation needs, built and checked before the first step.

A phase is ``general`` (pre-training distillation), ``intermediate`` (task data, the same
embedding / hidden / attention losses) or ``prediction`` (task data, soft cross-entropy on logits).
``--stage task --step both`` runs intermediate then prediction, the second starting from the first's
output. Usage::

    phase = build_phase(config, "general", student_spec="tinybert-4", env=env)
    terms = phase.loss_terms(batch)        # {"embedding": tensor, "hidden_1": ..., "attention_1": ...}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from tinyzh.distill import losses
from tinyzh.distill.adaptor import capture_qkv, capture_scores
from tinyzh.distill.config import DistillConfig
from tinyzh.distill.data import TrainData, general_data, model_inputs, pregen_tokenizer_info, task_data
from tinyzh.distill.distributed import DistEnv
from tinyzh.distill.fused import can_fuse, fuse_teacher
from tinyzh.distill.matches import (
    LayerMatch,
    attention_layers,
    build_matches,
    deepest_teacher_layer,
    resolve_layer_map,
)
from tinyzh.distill.models import (
    build_student,
    check_family,
    check_student_tokenizer,
    check_task_labels,
    check_tokenizer_fits,
    encoder_of,
    load_teacher,
    teacher_tokenizer,
)
from tinyzh.distill.relations import check_relation_heads
from tinyzh.distill.teacher_cache import KEY as CACHED_LOGITS
from tinyzh.distill.teacher_init import init_from_teacher
from tinyzh.distill.wrappers import Precision, Projections, StudentForward, prepare_teacher, teacher_forward
from tinyzh.errors import ConfigError


@dataclass
class Phase:
    """Teacher, student (+ projections, wrapped for the forward pass), matches and data of one phase."""

    name: str
    config: DistillConfig
    teacher: nn.Module
    student: nn.Module  # the HF model that gets saved
    forward_S: StudentForward  # student + projections; DDP wraps this
    matches: list[LayerMatch]
    data: TrainData
    tokenizer: Any
    env: DistEnv
    labels: tuple[str, ...] = ()
    layer_map: list[tuple[int, int]] = field(default_factory=list)
    teacher_order: list[int] | None = None  # teacher logit index of each task label, when they differ
    precision: Precision = field(default_factory=lambda: Precision.of("fp32"))
    loss_options: dict[str, dict] = field(default_factory=dict)  # keyword arguments per loss name
    init_report: dict[str, Any] | None = None  # what --init-from-teacher copied, when it ran
    cache_report: dict[str, Any] | None = None  # --cache-teacher-logits: {"computed", "seconds"}
    compiled: Callable[..., dict[str, torch.Tensor]] | None = None  # --compile: _terms through torch.compile
    teacher_fused: int = 0  # teacher blocks run as oneDNN fused ops (tinyzh.distill.fused)

    @property
    def projections(self) -> nn.Module | None:
        return self.forward_S.projections

    def loss_terms(self, batch: dict[str, torch.Tensor], forward_S: nn.Module | None = None) -> dict[str, torch.Tensor]:
        """Weighted loss terms of one micro-batch; ``forward_S`` is the (maybe DDP-wrapped) student.

        Moves the batch to the device, then runs :meth:`_terms`, compiled under ``--compile``.
        """
        forward_S = forward_S or self.forward_S
        device = self.env.device
        inputs = model_inputs(batch, device, token_types=getattr(self.teacher.config, "type_vocab_size", 2) > 1)
        cached = None
        if self.name == "prediction" and CACHED_LOGITS in batch:  # --cache-teacher-logits: the teacher already ran
            cached = batch[CACHED_LOGITS].to(device, non_blocking=True)
        labels = batch.get("labels")
        labels = labels.to(device) if labels is not None else None
        return (self.compiled or self._terms)(forward_S, inputs, labels, cached)

    def _terms(self, forward_S: nn.Module, inputs: dict[str, torch.Tensor], labels: torch.Tensor | None,
               cached_logits_T: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Teacher forward (unless its logits are cached), student forward, losses: the unit ``--compile`` compiles."""
        predict = self.name == "prediction"
        if cached_logits_T is not None:
            out_T = {"logits": cached_logits_T}
        else:
            out_T = teacher_forward(self.teacher, inputs, hidden=not predict, logits=predict)
        with self.precision.autocast(self.env.device):
            out_S = forward_S(inputs, labels if self.forward_S.mlm else None)
        if predict:
            logits_T = out_T["logits"] if self.teacher_order is None else out_T["logits"][:, self.teacher_order]
            terms = {"soft_ce": losses.soft_ce(out_S["logits"], logits_T, self.config.temperature)}
            if self.config.hard_label_weight > 0:
                terms["hard_ce"] = self.config.hard_label_weight * losses.hard_ce(out_S["logits"], labels)
            return terms
        terms = losses.match_losses(self.matches, out_S, out_T, options=self.loss_options)
        if self.forward_S.mlm:
            assert labels is not None
            terms["mlm"] = self.config.mlm_weight * losses.mlm_ce(out_S["logits"], labels[labels != -100])
        return terms


def _truncate_teacher(teacher: nn.Module, depth: int) -> None:
    """Drop teacher layers above the deepest one any loss reads (they would run for nothing)."""
    encoder = encoder_of(teacher).encoder
    if depth < len(encoder.layer):
        encoder.layer = nn.ModuleList(list(encoder.layer)[:depth])
        teacher.config.num_hidden_layers = depth


def _task(config: DistillConfig) -> Any:
    from tinyzh.plugins import get_task

    return get_task(config.task or "")


def build_phase(config: DistillConfig, name: str, student_spec: str, env: DistEnv) -> Phase:
    """Load and check teacher, tokenizer, data and student for phase ``name``."""
    stage = "general" if name == "general" else "task"
    tokenizer = teacher_tokenizer(*tokenizer_source(config, stage))
    teacher = load_teacher(config.teacher, stage)
    check_family(teacher, f"teacher {config.teacher!r}")
    check_tokenizer_fits(tokenizer, teacher, config.teacher)
    labels: tuple[str, ...] = ()
    order = None
    if stage == "general":
        data = general_data(config.data, tokenizer.vocab_fingerprint(), config.teacher, tokenizer.pad_token_id,
                            config.seed)
    else:
        task = _task(config)
        labels = tuple(task.labels)
        order = check_task_labels(teacher, labels, config.teacher, config.task or "")
        max_len = config.max_seq_len or task.max_seq_len
        data = task_data(config.data, task, tokenizer.hf, max_len, config.dev)
        _check_labels(config, name, data)
    torch.manual_seed(config.seed)  # same initial student (and projections) on every rank
    relation = config.attention_loss == "relation" and name != "prediction"
    student = build_student(student_spec, teacher, config.teacher, stage, labels,
                            same_heads=not relation and name != "prediction")
    check_student_tokenizer(_dir_or_none(student_spec), tokenizer, student_spec, config.teacher)
    init_report = _init_student(config, student_spec, student, teacher)
    pairs, matches, projections, options = [], [], None, {}
    if name != "prediction":
        pairs, matches, projections = _intermediate_matches(config, teacher, student)
        options = _loss_options(config, teacher, student)
    forward_S = StudentForward(student, projections, hidden=name != "prediction",
                               mlm=name == "general" and config.mlm_weight > 0,
                               logits=name == "prediction", proj_layers={s for s, _ in pairs})
    precision = Precision.of(config.precision)
    prepare_teacher(teacher, precision).to(env.device)
    fused = fuse_teacher(teacher) if can_fuse(precision.dtype, env.device, config.compile) else 0  # bf16, AMX CPUs
    forward_S.to(env.device)
    phase = Phase(name, config, teacher, student, forward_S, matches, data, tokenizer, env, labels, pairs, order,
                  precision, options, init_report, teacher_fused=fused)
    if config.compile:
        from tinyzh.distill.compiler import compile_terms

        phase.compiled = compile_terms(phase)
    return phase


def _check_labels(config: DistillConfig, name: str, data: TrainData) -> None:
    """--hard-label-weight needs gold labels; a file of unlabelled rows can only be distilled."""
    if name == "prediction" and config.hard_label_weight > 0 and data.unlabelled == len(data):
        raise ConfigError(
            f"--hard-label-weight {config.hard_label_weight}: --data {config.data} has no labelled row "
            "(every row lacks a label); set --hard-label-weight 0 to learn from the teacher alone"
        )


def _init_student(config: DistillConfig, spec: str, student: nn.Module, teacher: nn.Module) -> dict[str, Any] | None:
    """--init-from-teacher on the run's own new student (not on a later phase's, nor on a checkpoint's)."""
    if not config.init_from_teacher or spec != config.student:
        return None
    if _dir_or_none(spec) is not None:
        raise ConfigError(
            f"--init-from-teacher would overwrite the trained weights of --student {spec}; give a preset or a "
            "config.json for a new student, or drop --init-from-teacher"
        )
    pairs = resolve_layer_map(config.layer_map, teacher.config.num_hidden_layers, student.config.num_hidden_layers)
    return init_from_teacher(student, teacher, pairs)


def _loss_options(config: DistillConfig, teacher: nn.Module, student: nn.Module) -> dict[str, dict]:
    """Keyword arguments of the losses that take any: MiniLMv2's relation heads (default: the teacher's heads)."""
    if config.attention_loss != "relation":
        return {}
    heads = config.relation_heads or teacher.config.num_attention_heads
    check_relation_heads(heads, student.config.hidden_size, teacher.config.hidden_size)
    return {"attention_relation": {"heads": heads}}


def _intermediate_matches(config: DistillConfig, teacher: nn.Module, student: nn.Module) -> tuple[
        list[tuple[int, int]], list[LayerMatch], Projections | None]:
    """Layer map, matches and projections; switches both models to capture the mapped layers' scores."""
    pairs = resolve_layer_map(config.layer_map, teacher.config.num_hidden_layers, student.config.num_hidden_layers)
    widths_differ = student.config.hidden_size != teacher.config.hidden_size
    matches = build_matches(pairs, attention_loss=config.attention_loss, hidden_loss=config.hidden_loss)
    _truncate_teacher(teacher, deepest_teacher_layer(matches))
    capture_scores(teacher, attention_layers(matches, "T"))
    capture_scores(student, attention_layers(matches, "S"))
    capture_qkv(teacher, attention_layers(matches, "T", feature="qkv"))
    capture_qkv(student, attention_layers(matches, "S", feature="qkv"))
    projections = None
    if widths_differ:
        projections = Projections(student.config.hidden_size, teacher.config.hidden_size,
                                  [s for s, _ in pairs], config.projection)
    return pairs, matches, projections


def tokenizer_source(config: DistillConfig, stage: str) -> tuple[str, str]:
    """(name or path, plugin) of the tokenizer: for general distillation the plugin the pregen manifest
    records, on the teacher's own tokenizer files, or on the manifest's tokenizer when the teacher has none."""
    from pathlib import Path

    from tinyzh.config import DEFAULT_TOKENIZER_PLUGIN

    if stage != "general":
        return config.teacher, DEFAULT_TOKENIZER_PLUGIN
    info = pregen_tokenizer_info(config.data)
    plugin = info.get("plugin") or DEFAULT_TOKENIZER_PLUGIN
    teacher = Path(config.teacher)
    files = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "sentencepiece.bpe.model")
    if teacher.is_dir() and not any((teacher / f).exists() for f in files) and info.get("name"):
        return str(info["name"]), plugin
    return config.teacher, plugin


def _dir_or_none(spec: str) -> Any:
    from pathlib import Path

    path = Path(spec)
    return path if path.is_dir() else None


def check_steps(phase: Phase) -> int:
    """Optimizer steps in one epoch; an error when the data cannot fill one batch."""
    steps = len(phase.data) // phase.config.batch_size
    if steps < 1:
        raise ConfigError(
            f"--data holds {len(phase.data)} examples, fewer than one batch of --batch-size "
            f"{phase.config.batch_size}; lower --batch-size"
        )
    return steps
