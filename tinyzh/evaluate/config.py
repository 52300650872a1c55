"""``EvalConfig``: everything ``tinyzh eval`` needs, validated on construction.

Defaults follow the CLUE baselines (batch 16, lr 2e-5, 3 epochs, max length 128 or the task's own,
e.g. 256 for CSL). The per-pair part (:meth:`EvalConfig.pair_settings`) is stored with every result
so a rerun with other settings is not mistaken for a finished pair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tinyzh.config import CommandConfig
from tinyzh.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """A model to evaluate: ``name`` (its output folder) and ``path`` (hub name or directory)."""

    name: str
    path: str

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """``NAME=PATH`` or just ``PATH`` (the name is then the last path component)."""
        name, sep, path = text.partition("=")
        if not sep:
            path, name = text, Path(text.rstrip("/")).name or text
        name = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "model"
        if not path:
            raise ConfigError(f"--model {text!r}: expected PATH or NAME=PATH")
        return cls(name, path)


@dataclass(frozen=True)
class EvalConfig(CommandConfig):
    # How a run goes, not what it computes (pair_settings decides what a result depends on).
    RUN_ONLY: ClassVar[frozenset[str]] = frozenset({"output", "force", "threads", "eval_batch_size"})

    models: list[ModelSpec]
    tasks: list[str]
    data_dir: Path
    output: Path = Path("results")
    epochs: float = 3.0
    batch_size: int = 16
    eval_batch_size: int = 64
    lr: float = 2e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_seq_len: int | None = None  # None: the task's own default (128; CSL 256)
    max_train_examples: int | None = None
    max_dev_examples: int | None = None
    max_test_examples: int | None = None  # a partial submission; for quick runs only
    train_file: str = "train.json"
    dev_file: str = "dev.json"
    test_file: str = "test.json"
    no_train: bool = False
    save_models: bool = False
    force: bool = False
    seed: int = 42
    threads: int | None = None  # torch CPU threads; None: torch's default (all cores)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._set("data_dir", Path(self.data_dir))
        self._set("output", Path(self.output))
        self._set("models", [m if isinstance(m, ModelSpec) else ModelSpec(**m) for m in self.models])
        self._set("tasks", list(self.tasks))
        if not self.models:
            raise ConfigError("give at least one --model (a directory or NAME=PATH)")
        names = [m.name for m in self.models]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise ConfigError(
                f"two models would share the output folder {clash[0]!r}; name them with --model NAME=PATH"
            )
        if not self.tasks:
            raise ConfigError("--tasks is empty; give task names such as afqmc,tnews")
        self._check_positive("epochs", "batch_size", "eval_batch_size", "lr")
        self._check_positive("max_seq_len", "max_train_examples", "max_dev_examples", "max_test_examples", "threads",
                             optional=True)
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"--warmup-ratio {self.warmup_ratio} must be in [0, 1)")
        if self.weight_decay < 0:
            raise ConfigError(f"--weight-decay {self.weight_decay} must be >= 0")
        if self.max_seq_len is not None and self.max_seq_len < 8:
            raise ConfigError(f"--max-seq-len {self.max_seq_len} is too short; use at least 8")

    def _check_positive(self, *names: str, optional: bool = False) -> None:
        for name in names:
            value = getattr(self, name)
            if value is None and optional:
                continue
            if value is None or value <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {value}")

    def pair_settings(self, task_name: str, max_seq_len: int) -> dict[str, Any]:
        """The settings that decide one (model, task) result; a change means it must be rerun."""
        keys = ("epochs", "batch_size", "lr", "warmup_ratio", "weight_decay", "max_train_examples",
                "max_dev_examples", "max_test_examples", "train_file", "dev_file", "test_file", "no_train", "seed")
        settings = {key: getattr(self, key) for key in keys}
        settings.update(task=task_name, max_seq_len=max_seq_len, data_dir=str(self.data_dir.resolve()))
        return settings
