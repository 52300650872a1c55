"""Both stages on real Chinese data (../shared/data): bert-base-chinese's vocabulary, CLUE's OCNLI.

The models are tiny and random (no pretrained weights can be had here); what is real is the text, the
21,128-token vocabulary, the pregen pipeline and the OCNLI task plugin. Skipped without the data.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import torch

from tests import tiny
from tests.distill.conftest import read_metrics, write_student_config
from tinyzh.distill import DistillConfig, run_distill


def _head(source: Path, target: Path, lines: int) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open(encoding="utf-8") as fh:
        target.write_text("".join(itertools.islice(fh, lines)), encoding="utf-8")
    return target


def test_general_then_task_on_real_data(shared_data: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    from tinyzh.plugins import get_task
    from tinyzh.pregen import PregenConfig, run_pregen

    vocab = shared_data / "vocab" / "bert-base-chinese"
    teacher = tiny.save_tiny_bert(tmp_path / "teacher", vocab, kind="mlm", layers=4, hidden=64)
    corpus = _head(shared_data / "corpus" / "chid_passages.txt", tmp_path / "corpus.txt", 120)
    run_pregen(PregenConfig(corpus=[corpus], output=tmp_path / "pregen", tokenizer=str(teacher), max_seq_len=64,
                            epochs=1, seed=0, workers=1))
    student = write_student_config(tmp_path / "student.json", 21128)
    general = tmp_path / "general"
    run_distill(DistillConfig(stage="general", data=str(tmp_path / "pregen"), output=str(general),
                              teacher=str(teacher), student=str(student), batch_size=8, max_steps=4,
                              logging_steps=2, workers=0, precision="bf16", mlm_weight=1.0))
    assert torch.isfinite(torch.tensor(read_metrics(general)[-1]["loss"]))

    labels = get_task("ocnli").labels
    task_teacher = tiny.save_tiny_bert(tmp_path / "ocnli-teacher", vocab, kind="cls", layers=4, hidden=64,
                                       id2label=dict(enumerate(labels)),
                                       label2id={label: i for i, label in enumerate(labels)})
    train = _head(shared_data / "clue" / "ocnli" / "train.json", tmp_path / "ocnli" / "train.json", 32)
    _head(shared_data / "clue" / "ocnli" / "dev.json", tmp_path / "ocnli" / "dev.json", 16)
    out = tmp_path / "task"
    results = run_distill(DistillConfig(stage="task", task="ocnli", data=str(train), output=str(out),
                                        teacher=str(task_teacher), student=str(general), step="both",
                                        batch_size=8, epochs=1, logging_steps=1, workers=0,
                                        max_seq_len=64))
    assert [r.phase for r in results] == ["intermediate", "prediction"] and all(r.finished for r in results)
    summary = json.loads((out / "distill_summary.json").read_text(encoding="utf-8"))
    assert summary["best_dev_accuracy"] is not None
    model = AutoModelForSequenceClassification.from_pretrained(str(out))
    assert [model.config.id2label[i] for i in range(3)] == list(labels)
