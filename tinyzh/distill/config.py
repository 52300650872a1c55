"""``DistillConfig``: every option of ``tinyzh distill``, validated on construction.

The output directory stores it as ``distill_config.json`` and every checkpoint carries a copy, so a
rerun of the same command can tell whether it may continue from the last checkpoint. Usage::

    config = DistillConfig(stage="general", data="pregen/", output="student/", max_steps=100)
    config.learning_rate("prediction")   # --prediction-lr, else --lr, else TinyBERT's default for the step
    config.phase_epochs("prediction")    # --prediction-epochs, else --epochs
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from tinyzh.config import DEFAULT_TEACHER, CommandConfig
from tinyzh.errors import ConfigError

STAGES = ("general", "task")
STEPS = ("intermediate", "prediction", "both")
PRECISIONS = ("fp32", "bf16", "fp16")
PROJECTIONS = ("shared", "per-layer")
ATTENTION_LOSSES = ("mse", "kl", "relation")
HIDDEN_LOSSES = ("mse", "normalised")
# TinyBERT's learning rates: general 1e-4; task 5e-5 for the intermediate step, 3e-5 for prediction.
DEFAULT_LR = {"general": 1e-4, "intermediate": 5e-5, "prediction": 3e-5}
PATH_OPTIONS = ("data", "teacher", "student", "dev")  # may be local paths, stored relative to the output too


@dataclass(frozen=True)
class DistillConfig(CommandConfig):
    """Options of one distillation run; see ``docs/distill.md`` for each flag."""

    # Options that may change between a run and its resumption without changing the result. ``output``
    # is where the checkpoints were found: a moved output directory is the same run. ``compile`` changes
    # it only within float tolerance (fused kernels round differently), and not the recipe.
    RUN_ONLY: ClassVar[frozenset[str]] = frozenset({"resume", "workers", "logging_steps", "stop_after", "save_steps",
                                                    "output", "cache_teacher_logits", "compile"})
    # left out of ``identity`` at its default: recipe runs recorded before it keep their fingerprints
    ADDED_LATER: ClassVar[frozenset[str]] = frozenset({"hidden_loss", "prediction_lr", "prediction_epochs"})
    # read by the prediction step only: an intermediate step of --step both finished (or checkpointed)
    # before one of them changed is still the same intermediate step
    PREDICTION_ONLY: ClassVar[frozenset[str]] = frozenset({"prediction_epochs", "prediction_lr", "temperature",
                                                           "hard_label_weight"})

    stage: str = "general"
    data: str = ""
    output: str = ""
    teacher: str = DEFAULT_TEACHER
    student: str = "tinybert-4"
    task: str | None = None
    step: str = "both"
    dev: str | None = None
    max_seq_len: int | None = None
    layer_map: str | None = None
    projection: str = "shared"
    attention_loss: str = "mse"
    hidden_loss: str = "mse"
    mlm_weight: float = 0.0
    temperature: float = 1.0
    hard_label_weight: float = 0.0
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 32
    grad_accum: int = 1
    lr: float | None = None
    # the prediction step's own budget (TinyBERT runs the two steps as two commands with their own);
    # None: --epochs and --lr
    prediction_epochs: int | None = None
    prediction_lr: float | None = None
    warmup: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    seed: int = 42
    save_steps: int = 1000
    logging_steps: int = 50
    resume: bool | None = None  # None: continue when a checkpoint exists; True: require one; False: start over
    precision: str = "fp32"
    workers: int = 1
    stop_after: int | None = None  # stop (after checkpointing) once this run has done so many steps
    relation_heads: int | None = None  # --attention-loss relation: MiniLMv2's R (None: the teacher's heads)
    init_from_teacher: bool = False  # copy (or cut) the mapped teacher layers into a new student
    cache_teacher_logits: bool = True  # prediction step: the teacher runs once per row, not once per epoch
    compile: bool = False  # torch.compile (inductor, CPU C++ kernels) of each micro-batch's forward and losses

    def __post_init__(self) -> None:
        self._check_choice("stage", STAGES)
        self._check_choice("step", STEPS)
        self._check_choice("precision", PRECISIONS)
        self._check_choice("projection", PROJECTIONS)
        self._check_choice("attention_loss", ATTENTION_LOSSES)
        self._check_choice("hidden_loss", HIDDEN_LOSSES)
        if not self.data:
            raise ConfigError("--data is required: a `tinyzh pregen` output (general) or a task file (task)")
        if not self.output:
            raise ConfigError("--output is required: the directory the student is written to")
        if self.stage == "task" and not self.task:
            raise ConfigError("--stage task needs --task NAME (see `tinyzh plugins` for the task names)")
        for name in ("epochs", "batch_size", "grad_accum", "save_steps", "logging_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("max_steps", "stop_after", "max_seq_len", "prediction_epochs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        if self.batch_size % self.grad_accum:
            raise ConfigError(
                f"--batch-size {self.batch_size} (samples per optimizer step) must be a multiple of "
                f"--grad-accum {self.grad_accum}"
            )
        if not 0.0 <= self.warmup < 1.0:
            raise ConfigError(f"--warmup is a fraction of the steps in [0, 1), got {self.warmup}")
        if self.temperature <= 0:
            raise ConfigError(f"--temperature must be positive, got {self.temperature}")
        for name in ("mlm_weight", "hard_label_weight", "weight_decay", "max_grad_norm"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        for name in ("lr", "prediction_lr"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        self._check_prediction_budget()
        if self.workers < 0:
            raise ConfigError(f"--workers must be >= 0, got {self.workers}")
        if self.relation_heads is not None:
            if self.attention_loss != "relation":
                raise ConfigError(
                    f"--relation-heads {self.relation_heads} applies to --attention-loss relation only "
                    f"(found --attention-loss {self.attention_loss}); add --attention-loss relation or drop it")
            if self.relation_heads < 1:
                raise ConfigError(f"--relation-heads must be at least 1, got {self.relation_heads}")

    def _check_choice(self, name: str, choices: tuple[str, ...]) -> None:
        if getattr(self, name) not in choices:
            raise ConfigError(
                f"--{name.replace('_', '-')} {getattr(self, name)!r} is not one of: {', '.join(choices)}"
            )

    def _check_prediction_budget(self) -> None:
        """--prediction-epochs / --prediction-lr only where a prediction step runs."""
        for name in ("prediction_epochs", "prediction_lr"):
            if getattr(self, name) is not None and (self.stage != "task" or self.step == "intermediate"):
                where = "--stage general" if self.stage != "task" else "--step intermediate"
                raise ConfigError(f"--{name.replace('_', '-')} applies to the task stage's prediction step, and "
                                  f"{where} runs none; drop it or use --step prediction / both")

    def learning_rate(self, step: str) -> float:
        """The peak lr of ``step`` ("general", "intermediate", "prediction"): --prediction-lr for the
        prediction step when given, else --lr when given, else TinyBERT's default for the step."""
        if step == "prediction" and self.prediction_lr is not None:
            return self.prediction_lr
        return self.lr if self.lr is not None else DEFAULT_LR[step]

    def phase_epochs(self, step: str) -> int:
        """Passes over the data of ``step``: --prediction-epochs for the prediction step when given, else --epochs."""
        if step == "prediction" and self.prediction_epochs is not None:
            return self.prediction_epochs
        return self.epochs

    def stored_dict(self, output: str | Path | None = None) -> dict[str, Any]:
        """``to_dict`` plus ``paths_from_output``: each local path option relative to ``output``, so a
        run moved together with its inputs, or resumed from another working directory, still matches."""
        data = self.to_dict()
        base = Path(output or self.output).resolve()
        data["paths_from_output"] = {
            key: os.path.relpath(Path(value).resolve(), base)
            for key in PATH_OPTIONS if (value := data[key]) and Path(value).exists()
        }
        return data

    def differences(self, other: dict[str, Any], output: str | Path | None = None,
                    phase: str | None = None) -> list[str]:
        """Options (other than harmless ones) whose value differs from a stored config dict.

        A path option also matches when it names the file the stored relative path names from ``output``.
        ``phase="intermediate"``: the prediction step's own options are not compared.
        """
        mine = self.to_dict()
        relative = other.get("paths_from_output") or {}
        base = Path(output or self.output)
        # An option missing from a stored config predates it: the run used its default.
        defaults = {f.name: f.default for f in fields(self)}
        return sorted(
            k for k in mine
            if k not in self.RUN_ONLY and other.get(k, defaults[k]) != mine[k]
            and not (phase == "intermediate" and k in self.PREDICTION_ONLY)
            and not (k in relative and _same_path(base / relative[k], mine[k]))
        )


def _same_path(a: str | Path, b: str | Path | None) -> bool:
    if b is None:
        return False
    a, b = Path(a).resolve(), Path(b).resolve()  # resolve first: ".." out of a folder not yet made
    return a == b and a.exists()
