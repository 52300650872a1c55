"""Fine-tuning and prediction for one (model, task): a small AdamW loop instead of a Trainer.

``load_classifier`` gives a sequence classifier whose ``id2label`` are the task's label strings
(a pre-trained checkpoint gets a fresh head); ``fine_tune`` runs AdamW with linear warm-up and decay;
``predict`` returns label strings in input order plus the inference speed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from tinyzh.errors import ConfigError
from tinyzh.hf import load_pretrained
from tinyzh.protocols import Task
from tinyzh.tasks.features import TaskDataset, collate, inputs_of

Tick = Callable[[int], None]  # progress callback: advance by n steps / examples


def label_maps(task: Task) -> tuple[dict[int, str], dict[str, int]]:
    id2label = dict(enumerate(task.labels))
    return id2label, {label: i for i, label in id2label.items()}


def load_classifier(path: str, task: Task, *, trained: bool) -> Any:
    """``AutoModelForSequenceClassification`` for ``task``.

    ``trained=False``: any BERT checkpoint; the head is (re)initialised with the task's labels.
    ``trained=True``: an already fine-tuned checkpoint; its ``id2label`` must hold the task's labels
    (any order: predictions are mapped back through ``id2label``).
    """
    from transformers import AutoModelForSequenceClassification

    id2label, label2id = label_maps(task)
    options: dict[str, Any] = {}
    if not trained:  # a classifier of another task keeps its encoder and gets a new head
        options = dict(num_labels=len(task.labels), id2label=id2label, label2id=label2id, ignore_mismatched_sizes=True)
    model = load_pretrained(AutoModelForSequenceClassification, path, "model",
                            hint="give a local checkpoint directory (config.json + weights) when offline", **options)
    if trained:
        found = {str(v) for v in model.config.id2label.values()}
        if found != set(task.labels):
            shown = ", ".join(sorted(found)[:8])
            raise ConfigError(
                f"--no-train: {path} was fine-tuned for other labels ({shown}…), not {task.name}'s "
                f"{len(task.labels)} labels; give the checkpoint saved for {task.name} (eval --save-models)"
            )
    return model


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class TrainStats:
    steps: int
    examples: int  # rows seen, counting repeats across epochs
    seconds: float
    final_loss: float


def _optimizer(model: Any, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW; biases and LayerNorm weights get no weight decay (as in BERT)."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def total_steps(n_examples: int, batch_size: int, epochs: float) -> int:
    return max(1, math.ceil(epochs * math.ceil(n_examples / batch_size)))


def fine_tune(
    model: Any,
    features: dict[str, torch.Tensor],
    *,
    epochs: float,
    batch_size: int,
    lr: float,
    warmup_ratio: float,
    weight_decay: float,
    seed: int,
    tick: Tick | None = None,
) -> TrainStats:
    """Cross-entropy fine-tuning for ``total_steps`` steps (fractional epochs stop mid-epoch)."""
    from transformers import get_linear_schedule_with_warmup

    dataset = TaskDataset(features)
    steps = total_steps(len(dataset), batch_size, epochs)
    optimizer = _optimizer(model, lr, weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * steps), steps)
    generator = torch.Generator().manual_seed(seed)  # shuffling order depends on the seed only
    model.train()
    done, seen, loss_value, start = 0, 0, float("nan"), time.perf_counter()
    while done < steps:
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, shuffle=True, collate_fn=collate, generator=generator
        )
        for batch in loader:
            logits = model(**inputs_of(batch)).logits  # (B, num_labels)
            loss = torch.nn.functional.cross_entropy(logits, batch["labels"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            done, seen, loss_value = done + 1, seen + len(batch["labels"]), loss.item()
            if tick:
                tick(1)
            if done >= steps:
                break
    model.eval()
    return TrainStats(steps=done, examples=seen, seconds=time.perf_counter() - start, final_loss=loss_value)


@dataclass
class Predictions:
    labels: list[str]  # in input order
    seconds: float

    @property
    def examples_per_s(self) -> float:
        return len(self.labels) / self.seconds if self.seconds > 0 else 0.0


@torch.no_grad()
def predict(model: Any, features: dict[str, torch.Tensor], batch_size: int, tick: Tick | None = None) -> Predictions:
    """Argmax labels for every row. Rows run sorted by length (less padding), results come back in order."""
    model.eval()
    id2label = {int(k): str(v) for k, v in model.config.id2label.items()}
    n = len(features["labels"])
    order = torch.argsort(features["attention_mask"].sum(dim=1), descending=True, stable=True) if n else torch.arange(0)
    predicted = torch.empty(n, dtype=torch.long)
    start = time.perf_counter()
    for begin in range(0, n, batch_size):
        rows = order[begin : begin + batch_size]
        batch = collate([{k: v[i] for k, v in features.items()} for i in rows.tolist()])
        predicted[rows] = model(**inputs_of(batch)).logits.argmax(dim=-1)  # (B,)
        if tick:
            tick(len(rows))
    seconds = time.perf_counter() - start
    return Predictions(labels=[id2label[i] for i in predicted.tolist()], seconds=seconds)
