"""encode_examples / TaskDataset / collate: shapes, segments, labels and padding trimming."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tinyzh import plugins
from tinyzh.hf import load_hf_tokenizer
from tinyzh.protocols import TaskExample
from tinyzh.tasks.features import NO_LABEL, TaskDataset, collate, encode_examples, inputs_of


@pytest.fixture(scope="module")
def tokenizer(vocab_dir: Path):
    return load_hf_tokenizer(str(vocab_dir))


def _ex(*texts: str, label: str | None = None) -> TaskExample:
    return TaskExample(id=0, texts=texts, label=label, line=1)


def test_single_task_encodes_cls_text_sep_with_label_ids(tokenizer) -> None:
    task = plugins.get_task("tnews")
    features = encode_examples(tokenizer, task, [_ex("手机很好", label="102"), _ex("好", label=None)], 128)
    ids = features["input_ids"]
    assert ids.shape == (2, 6)  # [CLS] 手 机 很 好 [SEP]; the second row is padded to 6
    assert ids[0, 0] == tokenizer.cls_token_id and ids[0, 5] == tokenizer.sep_token_id
    assert features["attention_mask"][1].tolist() == [1, 1, 1, 0, 0, 0]
    assert features["token_type_ids"].sum() == 0
    assert features["labels"].tolist() == [task.labels.index("102"), NO_LABEL]


def test_pair_task_uses_segment_ids_and_truncates_the_longer_text(tokenizer) -> None:
    task = plugins.get_task("ocnli")
    features = encode_examples(tokenizer, task, [_ex("手机" * 20, "好的", label="neutral")], 16)
    ids, types = features["input_ids"][0], features["token_type_ids"][0]
    assert ids.shape == (16,)
    # [CLS] + 11 chars of the long first text + [SEP] + 好 的 + [SEP]: the short second text survives
    assert types.tolist() == [0] * 13 + [1] * 3
    assert ids[-1] == tokenizer.sep_token_id and features["labels"].tolist() == [2]


def test_collate_trims_columns_no_row_of_the_batch_uses(tokenizer) -> None:
    task = plugins.get_task("tnews")
    examples = [_ex("手机很好手机很好", label="100"), _ex("好", label="100"), _ex("好", label="101")]
    dataset = TaskDataset(encode_examples(tokenizer, task, examples, 64))
    assert len(dataset) == 3 and dataset[0]["input_ids"].shape == (10,)
    batch = collate([dataset[1], dataset[2]])
    assert batch["input_ids"].shape == (2, 3) and batch["labels"].tolist() == [0, 1]
    assert set(inputs_of(batch)) == {"input_ids", "token_type_ids", "attention_mask"}
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, collate_fn=collate)
    assert [b["input_ids"].shape[1] for b in loader] == [10, 3]


def test_no_examples_gives_empty_tensors(tokenizer) -> None:
    features = encode_examples(tokenizer, plugins.get_task("afqmc"), [], 32)
    assert features["input_ids"].shape == (0, 0) and features["labels"].shape == (0,)
