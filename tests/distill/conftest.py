"""Fixtures for distillation tests: a tiny teacher, a tiny student config, a tiny pregen output.

Teacher: BertForMaskedLM, 4 layers, hidden 64, 4 heads. Student: 2 layers, hidden 32, 4 heads, no
dropout (so runs are deterministic functions of the seed and comparable across process counts).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests import tiny

SENTENCES = [
    "我们今天去北京天安门看升旗。",
    "这个手机的屏幕很好，电池也不错。",
    "他说明天再来买东西，价格太贵了。",
    "音乐会的声音很大，大家都很喜欢。",
    "老师让学生回家写作业。",
    "这家店的服务态度非常好。",
]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def write_student_config(path: Path, vocab_size: int, layers: int = 2, hidden: int = 32, **kw) -> Path:
    config = tiny.tiny_bert_config(vocab_size, layers=layers, hidden=hidden, heads=4,
                                   hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, **kw)
    path.write_text(json.dumps(config.to_dict()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def distill_root(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> dict[str, Path]:
    """teacher dir, student config, pregen dir, corpus (built once per session)."""
    from tinyzh.pregen import PregenConfig, run_pregen

    root = tmp_path_factory.mktemp("distill")
    teacher = tiny.save_tiny_bert(root / "teacher", vocab_dir, kind="mlm", layers=4, hidden=64)
    corpus = root / "corpus.txt"
    docs = ["".join(SENTENCES[(i + j) % len(SENTENCES)] + "\n" for j in range(4)) for i in range(24)]
    corpus.write_text("\n".join(docs), encoding="utf-8")
    run_pregen(PregenConfig(corpus=[corpus], output=root / "pregen", tokenizer=str(teacher), max_seq_len=32,
                            epochs=1, seed=0, workers=1))
    student = write_student_config(root / "student.json", len(tiny.vocab_tokens()))
    return {"root": root, "teacher": teacher, "student": student, "pregen": root / "pregen", "vocab": vocab_dir}


def general_config(paths: dict[str, Path], output: Path, **overrides):
    from tinyzh.distill import DistillConfig

    options = dict(stage="general", data=str(paths["pregen"]), output=str(output), teacher=str(paths["teacher"]),
                   student=str(paths["student"]), batch_size=4, max_steps=8, logging_steps=1, save_steps=100,
                   workers=0, lr=1e-3, seed=7)
    options.update(overrides)
    return DistillConfig(**options)


def read_metrics(output: Path) -> list[dict]:
    return [json.loads(line) for line in (output / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
