"""Training data: a deterministic, resumable, rank-sharded batch order, and the two kinds of dataset.

Order: epoch ``e`` visits the examples in ``randperm(n, seed + e)``; optimizer step ``s`` of the epoch
takes the global batch ``perm[s*B : (s+1)*B]`` (B = ``--batch-size``; an incomplete last batch is
dropped). The global batch is cut into ``world * grad_accum`` equal micro-batches; micro-batch
``a * world + rank`` is the ``a``-th accumulation step of ``rank``. The order depends only on
(seed, epoch, step), so a resumed run skips consumed batches exactly, and 1 process with
``--grad-accum 2`` sees the same micro-batches as 2 processes with ``--grad-accum 1``. Usage::

    sampler = MicroBatchSampler(len(ds), 32, grad_accum=1, world=1, rank=0, seed=42, epoch=0, start_step=0)
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate, num_workers=1)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from tinyzh.errors import ConfigError


class MicroBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Index lists of this rank's micro-batches for one epoch, from ``start_step`` on."""

    def __init__(self, n: int, batch_size: int, *, grad_accum: int, world: int, rank: int,
                 seed: int, epoch: int, start_step: int = 0) -> None:
        if batch_size % (grad_accum * world):
            raise ConfigError(
                f"--batch-size {batch_size} must divide evenly over {world} process(es) x --grad-accum {grad_accum}"
            )
        self.n, self.batch_size, self.grad_accum = n, batch_size, grad_accum
        self.world, self.rank, self.seed, self.epoch, self.start_step = world, rank, seed, epoch, start_step
        self.micro = batch_size // (grad_accum * world)

    @property
    def steps_per_epoch(self) -> int:
        return self.n // self.batch_size

    def __len__(self) -> int:
        return max(self.steps_per_epoch - self.start_step, 0) * self.grad_accum

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        perm = torch.randperm(self.n, generator=generator).tolist()
        for step in range(self.start_step, self.steps_per_epoch):
            batch = perm[step * self.batch_size:(step + 1) * self.batch_size]
            for a in range(self.grad_accum):
                chunk = a * self.world + self.rank
                yield batch[chunk * self.micro:(chunk + 1) * self.micro]


@dataclass
class TrainData:
    """A dataset, its collate function, and (task stage) a dev set for model selection."""

    dataset: torch.utils.data.Dataset
    collate: Callable[[list[Any]], dict[str, torch.Tensor]]
    dev: dict[str, torch.Tensor] | None = None  # encode_examples output of the dev file
    unlabelled: int = 0  # task rows without a gold label (label id NO_LABEL): soft targets only

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]


def pregen_tokenizer_info(directory: str) -> dict[str, Any]:
    """The ``tokenizer`` record of a pregen output's manifest ({} when there is none to read)."""
    try:
        manifest = json.loads((Path(directory) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # general_data reports a missing or damaged manifest
    info = manifest.get("tokenizer") if isinstance(manifest, dict) else None
    return info if isinstance(info, dict) else {}


def general_data(directory: str, fingerprint: str, teacher: str, pad_token_id: int, seed: int = 0) -> TrainData:
    """A ``tinyzh pregen`` output whose vocabulary fingerprint must equal the teacher tokenizer's.

    ``seed`` (distill's ``--seed``) seeds the masks of dynamically masked data.
    """
    from tinyzh.pregen import PregenDataset, collate_batch

    path = Path(directory)
    if not path.is_dir():
        raise ConfigError(f"--data {directory}: not a directory; give the output directory of `tinyzh pregen`")
    dataset = PregenDataset(path, seed=seed)
    found = dataset.manifest.get("tokenizer", {}).get("vocab_fingerprint")
    if found != fingerprint:
        raise ConfigError(
            f"--data {directory} was built with another tokenizer (vocabulary fingerprint {found}) than the "
            f"teacher {teacher!r} ({fingerprint}); rerun `tinyzh pregen --tokenizer {teacher}`"
        )
    if len(dataset) == 0:
        raise ConfigError(f"--data {directory} holds no instances")
    return TrainData(dataset, partial(collate_batch, pad_token_id=pad_token_id))


def _dev_path(train: Path, dev: str | None) -> Path | None:
    if dev:
        if not Path(dev).is_file():
            raise ConfigError(f"--dev {dev}: no such file")
        return Path(dev)
    candidate = train.with_name("dev" + train.suffix)
    return candidate if candidate.is_file() and candidate != train else None


def task_data(path: str, task: Any, hf_tokenizer: Any, max_seq_len: int, dev: str | None) -> TrainData:
    """A task's train file (or an ``augment`` output) plus its dev file (``--dev``, or dev.* beside it).

    Training rows need no label: distillation learns from the teacher (the intermediate losses and
    the soft cross-entropy), so unlabelled or augmented rows count; they get label id ``NO_LABEL``,
    which ``--hard-label-weight`` skips. The file is read as a ``test`` split for that reason: a label,
    when present, must still be one of the task's (a "no gold label" row such as OCNLI's "-" is kept,
    unlabelled). Dev rows need labels (they are scored).
    """
    from tinyzh.tasks.data import load_split
    from tinyzh.tasks.features import TaskDataset, collate, encode_examples

    train = Path(path)
    if not train.is_file():
        raise ConfigError(f"--data {path}: no such file; give the task's train file or an `augment` output")
    examples = load_split(train, task, "test")
    if not examples:
        raise ConfigError(f"--data {path} holds no examples")
    features = encode_examples(hf_tokenizer, task, examples, max_seq_len)
    dev_features = None
    dev_path = _dev_path(train, dev)
    if dev_path is not None:
        dev_examples = [ex for ex in load_split(dev_path, task, "dev") if ex.label is not None]
        dev_features = encode_examples(hf_tokenizer, task, dev_examples, max_seq_len) if dev_examples else None
    unlabelled = sum(ex.label is None for ex in examples)
    return TrainData(TaskDataset(features), collate, dev_features, unlabelled)


def model_inputs(batch: dict[str, torch.Tensor], device: torch.device, token_types: bool = True) -> dict[str, torch.Tensor]:
    """(B, T) ``input_ids`` / ``token_type_ids`` / ``attention_mask`` on ``device``; without token types
    for models that have a single one (XLM-R's ``type_vocab_size`` is 1: segment id 1 would not embed)."""
    keys = ("input_ids", "token_type_ids", "attention_mask") if token_types else ("input_ids", "attention_mask")
    return {k: batch[k].to(device, non_blocking=True) for k in keys if k in batch}
