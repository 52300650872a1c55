"""The accuracy gate: score every exported variant on a labelled dev file, time it on real rows.

``load_dev_set`` reads the dev file through the task plugin and tokenises it with the model's own
tokenizer; ``score`` runs a forward over it in batches of 32 (rows sorted by length, each batch
padded to its longest row, as a server batching requests would) and returns the task metric in
points plus the rows per second; ``choose`` keeps the fastest variant whose score is at most
``max_drop`` points below the PyTorch fp32 model's. Small students can collapse under int8
(onnxruntime#9599), which is why the gate scores, rather than trusts, each variant. Usage::

    dev = load_dev_set(task, Path("clue/tnews/dev.json"), module, model_dir, limit=None)
    points, rows_per_s = score(onnx_runner, dev)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tinyzh.errors import ConfigError, InputError
from tinyzh.export.model import TensorModule, max_tokens
from tinyzh.protocols import Task, TaskExample
from tinyzh.tasks.features import collate, encode_examples

Forward = Callable[..., torch.Tensor]
THROUGHPUT_BATCH = 32


@dataclass
class DevSet:
    """A tokenised dev file: ``features`` (N, T) tensors padded to the longest row, gold labels."""

    task: Task
    path: Path
    examples: list[TaskExample]
    features: dict[str, torch.Tensor]
    id2label: dict[int, str]
    tokenizer: Any
    max_len: int

    def __len__(self) -> int:
        return len(self.examples)

    def row(self, i: int) -> tuple[torch.Tensor, ...]:
        """Row ``i`` alone, cut to its own length: (input_ids, attention_mask, token_type_ids), each (1, t)."""
        length = int(self.features["attention_mask"][i].sum())
        return tuple(self.features[k][i : i + 1, :length] for k in ("input_ids", "attention_mask", "token_type_ids"))

    def tokenize(self, i: int) -> tuple[torch.Tensor, ...]:
        """Row ``i`` tokenised from its text, as a server would: (1, t) tensors in export input order."""
        texts = self.examples[i].texts
        enc = self.tokenizer(
            *texts, truncation=True, max_length=self.max_len, return_token_type_ids=True, return_tensors="pt"
        )
        return enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]


def load_dev_set(task: Task, path: Path, module: TensorModule, model_dir: Path, limit: int | None) -> DevSet:
    """Read and tokenise ``path``; the model must be a classifier fine-tuned for ``task``'s labels."""
    from tinyzh.hf import load_hf_tokenizer
    from tinyzh.tasks.data import load_split

    if module.output_name != "logits":
        raise ConfigError(
            f"--task {task.name}: {model_dir} is not a sequence classifier; give one fine-tuned for "
            f"{task.name} (tinyzh eval --save-models writes it)"
        )
    id2label = {int(k): str(v) for k, v in module.model.config.id2label.items()}
    if set(id2label.values()) != set(task.labels):
        shown = ", ".join(sorted(id2label.values())[:8])
        raise ConfigError(
            f"--task {task.name}: {model_dir}/config.json's id2label ({shown}…) are not {task.name}'s "
            f"{len(task.labels)} labels; give the checkpoint fine-tuned for {task.name}"
        )
    examples = load_split(path, task, "dev", limit)
    if not examples:
        raise InputError(f"no labelled {task.name} dev rows", path)
    tokenizer = load_hf_tokenizer(str(model_dir))
    max_len = min(task.max_seq_len, max_tokens(module.model.config))
    features = encode_examples(tokenizer, task, examples, max_len)
    return DevSet(task, path, examples, features, id2label, tokenizer, max_len)


def score(forward: Forward, dev: DevSet, batch_size: int = THROUGHPUT_BATCH) -> tuple[float, float]:
    """(task metric in points 0-100, dev rows per second) of ``forward`` in batches of ``batch_size``."""
    import time

    from tinyzh.evaluate.metrics import get_metric

    n = len(dev)
    order = torch.argsort(dev.features["attention_mask"].sum(dim=1), descending=True, stable=True)
    predicted = torch.empty(n, dtype=torch.long)
    start = time.perf_counter()
    with torch.no_grad():
        for begin in range(0, n, batch_size):
            rows = order[begin : begin + batch_size]
            batch = collate([{k: v[i] for k, v in dev.features.items()} for i in rows.tolist()])
            inputs = (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
            predicted[rows] = forward(*inputs).argmax(dim=-1)  # (B,)
    seconds = time.perf_counter() - start
    labels = [dev.id2label[i] for i in predicted.tolist()]
    gold = [ex.label for ex in dev.examples]
    points = 100 * get_metric(dev.task.metric)(gold, labels)
    return points, n / seconds if seconds > 0 else 0.0


def calibration_rows(task: Task, path: Path, tokenizer: Any, count: int, max_len: int,
                     seed: int = 0) -> list[tuple[torch.Tensor, ...]]:
    """``count`` rows of the training file ``path`` drawn with ``seed``, each (1, t) at its own length."""
    from tinyzh.tasks.data import load_split

    examples = load_split(path, task, "train")
    if not examples:
        raise InputError(f"no labelled {task.name} rows to calibrate static int8 on", path)
    picked = random.Random(seed).sample(examples, min(count, len(examples)))
    rows = []
    for example in picked:
        enc = tokenizer(*example.texts, truncation=True, max_length=max_len, return_token_type_ids=True,
                        return_tensors="pt")
        rows.append((enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]))
    return rows


@dataclass
class Candidate:
    """What ``choose`` needs of one variant."""

    variant: str
    latency_ms: float
    dev_delta: float | None  # points vs PyTorch fp32; None without a gate
    is_int8: bool


def choose(candidates: list[Candidate], max_drop: float, want_int8: bool) -> tuple[str, dict[str, str]]:
    """The variant to write and a note per variant saying why it was or was not chosen.

    With ``want_int8`` the fastest int8 variant within ``max_drop`` points wins; when none is,
    the fastest fp32 export does. Without, the fastest fp32 export wins.
    """
    notes: dict[str, str] = {}
    for c in candidates:
        if c.is_int8 and c.dev_delta is not None and c.dev_delta < -max_drop:
            notes[c.variant] = f"rejected: {c.dev_delta:+.2f} points < -{max_drop:g}"
    passing = [c for c in candidates if c.variant not in notes]
    pool = [c for c in passing if c.is_int8 == want_int8] or [c for c in passing if not c.is_int8]
    best = min(pool, key=lambda c: c.latency_ms)
    for c in passing:
        if c is best:
            notes[c.variant] = "chosen: fastest" + (" that passes" if c.dev_delta is not None else ", ungated")
            if want_int8 and not c.is_int8:
                notes[c.variant] = "chosen: no int8 variant passes"
        elif c.is_int8 != best.is_int8:
            notes[c.variant] = "fp32" if not c.is_int8 else "int8 not asked for"
        else:
            notes[c.variant] = ("passes, " if c.dev_delta is not None else "") + "slower"
    return best.variant, notes
