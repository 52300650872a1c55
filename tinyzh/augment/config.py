"""``AugmentConfig``: every option of ``tinyzh augment``, validated on construction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tinyzh.augment.dictionary import FORMATS
from tinyzh.config import DEFAULT_TEACHER, CommandConfig
from tinyzh.errors import ConfigError


@dataclass(frozen=True)
class AugmentConfig(CommandConfig):
    # Options that change how fast the output is made, not what it is: left out of the resume check.
    RUN_ONLY: ClassVar[frozenset[str]] = frozenset({"workers", "overwrite"})

    task: str
    input: Path
    output: Path
    augmenters: tuple[str, ...] = ("synonym",)
    num_aug: int = 20  # distinct augmented copies wanted per example (the original comes on top)
    p: float = 0.4  # probability that a word with candidates is replaced in a copy
    top_k: int = 15  # candidates kept per word (synonyms, masked-LM guesses, homophones)
    synonyms: Path | None = None  # None: the small dictionary shipped in tinyzh/data
    synonyms_format: str = "auto"
    teacher: str = DEFAULT_TEACHER  # masked-LM for the mlm augmenter
    vocab: str | None = None  # homophone candidates must be in this vocabulary (the teacher's tokenizer)
    device: str = "cpu"
    batch_size: int = 128  # masked rows a forward pass (mlm)
    window: int = 64  # tokens of context around each masked word (mlm)
    seed: int = 42
    workers: int = 1
    chunk_size: int = 64  # input lines a unit of work; fixed so results never depend on --workers
    max_draws: int | None = None  # draws per example before giving up on num_aug; None: 3 * num_aug
    split: str = "train"  # "test": rows may lack a label (--allow-unlabeled), as a task's test split may
    balance: bool = False  # keep the input's label proportions by dropping copies (augment/balance.py)
    overwrite: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # more options for third-party augmenters

    def __post_init__(self) -> None:
        self._set("input", Path(self.input))
        self._set("output", Path(self.output))
        if self.synonyms is not None:
            self._set("synonyms", Path(self.synonyms))
        if isinstance(self.augmenters, str):
            self._set("augmenters", tuple(self.augmenters.split(",")))
        self._set("augmenters", tuple(a.strip() for a in self.augmenters if a.strip()))
        self._validate()

    def _validate(self) -> None:
        checks = [
            (bool(self.augmenters), "--augmenter is empty; give e.g. synonym or synonym,mlm"),
            (len(set(self.augmenters)) == len(self.augmenters), f"--augmenter lists a name twice: {','.join(self.augmenters)}"),
            (self.num_aug >= 1, f"--num-aug must be at least 1, got {self.num_aug}"),
            (0.0 <= self.p <= 1.0, f"--p must be a probability in [0, 1], got {self.p}"),
            (self.top_k >= 1, f"--top-k must be at least 1, got {self.top_k}"),
            (self.synonyms_format in FORMATS, f"--synonyms-format {self.synonyms_format!r}: expected one of {', '.join(FORMATS)}"),
            (self.batch_size >= 1, f"--batch-size must be at least 1, got {self.batch_size}"),
            (self.window >= 3, f"--window must be at least 3 tokens, got {self.window}"),
            (self.workers >= 1, f"--workers must be at least 1, got {self.workers}"),
            (self.chunk_size >= 1, f"chunk_size must be at least 1, got {self.chunk_size}"),
            (self.max_draws is None or self.max_draws >= 1, f"max_draws must be at least 1, got {self.max_draws}"),
            (self.input.resolve() != self.output.resolve(), f"--output {self.output} is the input file; choose another path"),
            (self.split in ("train", "test"), f"split must be train or test, got {self.split!r}"),
            (not (self.balance and self.split == "test"),
             "--balance keeps label proportions, and --allow-unlabeled admits rows without a label; use one of them"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @property
    def draws(self) -> int:
        return self.max_draws if self.max_draws is not None else 3 * self.num_aug

    def augmenter_options(self) -> dict[str, Any]:
        """Options offered to augmenter factories (each takes those its signature names)."""
        return {
            "top_k": self.top_k,
            "synonyms": self.synonyms,
            "synonyms_format": self.synonyms_format,
            "teacher": self.teacher,
            "vocab": self.vocab,
            "device": self.device,
            "batch_size": self.batch_size,
            "window": self.window,
            **self.extra,
        }

    def fingerprint(self) -> str:
        """Hash of everything that shapes the output, plus the input file's size and time stamp."""
        data = self.identity()
        data["input"], data["output"] = str(self.input.resolve()), str(self.output.resolve())
        stat = self.input.stat()
        data["input_stat"] = [stat.st_size, stat.st_mtime_ns]
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
