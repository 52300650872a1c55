"""Task examples -> BERT inputs: tokenised tensors, a dataset and a collate that trims padding.

Single-sentence tasks encode ``[CLS] a [SEP]``; pair tasks ``[CLS] a [SEP] b [SEP]`` with
token_type_ids 0 / 1, truncating the longer text first (BERT's ``longest_first``). Usage::

    tok = load_hf_tokenizer(model_dir)
    examples = list(task.read_examples("tnews/train.json", "train"))
    features = encode_examples(tok, task, examples, max_seq_len=128)
    loader = DataLoader(TaskDataset(features), batch_size=16, shuffle=True, collate_fn=collate)
    for batch in loader:            # dict of (B, T) tensors + labels (B,)
        logits = model(**inputs_of(batch)).logits
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from tinyzh.protocols import Task, TaskExample

INPUT_KEYS = ("input_ids", "token_type_ids", "attention_mask")
NO_LABEL = -1  # label id of an unlabelled (test) example


def label_ids(task: Task, examples: Sequence[TaskExample]) -> torch.Tensor:
    """(N,) class indices into ``task.labels``; ``NO_LABEL`` where the example has no label."""
    index = {label: i for i, label in enumerate(task.labels)}
    return torch.tensor([NO_LABEL if ex.label is None else index[ex.label] for ex in examples], dtype=torch.long)


def encode_examples(
    hf_tokenizer: Any, task: Task, examples: Sequence[TaskExample], max_seq_len: int
) -> dict[str, torch.Tensor]:
    """Tokenise ``examples``: ``input_ids`` / ``token_type_ids`` / ``attention_mask`` (N, T) and ``labels`` (N,).

    T is the longest encoded example, at most ``max_seq_len``; shorter rows are right-padded.
    Works for any number of examples >= 0 and for single or pair tasks (decided per example by
    ``len(example.texts)``, which the task keeps constant).
    """
    if not examples:
        empty = torch.zeros((0, 0), dtype=torch.long)
        return {key: empty for key in INPUT_KEYS} | {"labels": torch.zeros(0, dtype=torch.long)}
    firsts = [ex.texts[0] for ex in examples]
    seconds = [ex.texts[1] for ex in examples] if len(examples[0].texts) > 1 else None
    encoded = hf_tokenizer(
        firsts,
        seconds,
        truncation="longest_first" if seconds is not None else True,
        max_length=max_seq_len,
        padding="longest",
        return_token_type_ids=True,
        return_attention_mask=True,
        return_tensors="pt",
    )
    features = {key: encoded[key].long() for key in INPUT_KEYS}
    features["labels"] = label_ids(task, examples)
    return features


class TaskDataset(torch.utils.data.Dataset):
    """Rows of an ``encode_examples`` dict; item ``i`` is ``{key: tensor[i]}``."""

    def __init__(self, features: dict[str, torch.Tensor]) -> None:
        self.features = features
        self.size = len(features["labels"])

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {key: value[i] for key, value in self.features.items()}


def collate(rows: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack rows into a batch and cut the padding columns no row in the batch uses.

    (B, T) -> (B, T_b) with T_b the longest row of this batch: short batches run faster.
    """
    batch = {key: torch.stack([row[key] for row in rows]) for key in rows[0]}
    if "attention_mask" in batch and batch["attention_mask"].numel():
        width = int(batch["attention_mask"].sum(dim=1).max())
        for key in INPUT_KEYS:
            if key in batch:
                batch[key] = batch[key][:, :width]
    return batch


def inputs_of(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's keyword inputs from a batch (everything but ``labels``)."""
    return {key: batch[key] for key in INPUT_KEYS if key in batch}
