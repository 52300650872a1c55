"""``PregenConfig``: every option of ``tinyzh pregen``, validated on construction."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tinyzh.config import DEFAULT_MAX_SEQ_LEN, DEFAULT_TOKENIZER, DEFAULT_TOKENIZER_PLUGIN, CommandConfig
from tinyzh.errors import ConfigError

PAIR_TASKS = ("nsp", "sop", "none")
MASKINGS = ("static", "dynamic")


@dataclass(frozen=True)
class PregenConfig(CommandConfig):
    """Options of one pregen run; the manifest stores ``to_dict()``.

    ``chunk_documents`` documents (or ``chunk_chars`` characters, whichever comes first) make one
    chunk: the unit of work, of random seeding (seed, epoch, chunk index) and of output (one shard per
    chunk and epoch). It is part of the output's identity, unlike ``workers``.
    """

    # Options that change no byte of the output: a resumed run may differ in these.
    RUN_ONLY: ClassVar[frozenset[str]] = frozenset({"workers", "overwrite", "output", "segmenter"})

    corpus: list[Path]
    output: Path
    tokenizer: str = DEFAULT_TOKENIZER
    tokenizer_plugin: str = DEFAULT_TOKENIZER_PLUGIN
    segmenter: str | None = None  # None: the plugin's default (rjieba, else jieba, for bert-chinese)
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN
    epochs: int = 1
    seed: int = 0
    workers: int | None = None  # None: all cores
    masking: str = "static"
    pair_task: str = "nsp"
    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    short_seq_prob: float = 0.1
    chunk_documents: int = 2000
    chunk_chars: int = 200_000
    overwrite: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes stored in the manifest

    def __post_init__(self) -> None:
        corpus = [self.corpus] if isinstance(self.corpus, (str, Path)) else self.corpus
        self._set("corpus", [Path(p) for p in corpus])
        self._set("output", Path(self.output))
        if self.workers is None or self.workers == 0:
            self._set("workers", os.cpu_count() or 1)
        self._validate()

    def _validate(self) -> None:
        if not self.corpus:
            raise ConfigError("no corpus file given; pass one or more text files (optionally .gz)")
        _choice("--pair-task", self.pair_task, PAIR_TASKS)
        _choice("--masking", self.masking, MASKINGS)
        _at_least("--max-seq-len", self.max_seq_len, 8)
        _at_least("--epochs", self.epochs, 1)
        _at_least("--workers", self.workers, 1)
        _at_least("--seed", self.seed, 0)
        _at_least("--max-predictions-per-seq", self.max_predictions_per_seq, 1)
        _at_least("chunk_documents", self.chunk_documents, 2)
        _at_least("chunk_chars", self.chunk_chars, 1000)
        if self.max_seq_len > 65535:
            raise ConfigError(f"--max-seq-len {self.max_seq_len} is too large; at most 65535")
        for name, value in (("--masked-lm-prob", self.masked_lm_prob), ("--short-seq-prob", self.short_seq_prob)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} {value} is not a probability; expected a value in [0, 1]")

    @property
    def max_num_tokens(self) -> int:
        """Room for text: max_seq_len minus [CLS] and one [SEP] per segment."""
        return self.max_seq_len - (2 if self.pair_task == "none" else 3)


def _choice(option: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{option} {value!r} is not valid; expected one of {', '.join(allowed)}")


def _at_least(option: str, value: int, low: int) -> None:
    if not isinstance(value, int) or value < low:
        raise ConfigError(f"{option} {value!r} is not valid; expected an integer >= {low}")
