"""A distillation student built on a pruned vocabulary: prune the teacher, pregen with its tokenizer, distill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import tiny
from tests.distill.conftest import SENTENCES, read_metrics, write_student_config
from tinyzh.prune import prune_model, read_texts


@pytest.mark.parametrize("layout", ["tokenizer.json", "vocab.txt"])
def test_general_distillation_on_a_pruned_teacher(tmp_path: Path, vocab_dir: Path, layout: str) -> None:
    from tinyzh.distill import DistillConfig, run_distill
    from tinyzh.pregen import PregenConfig, run_pregen

    teacher = tiny.save_tiny_bert(tmp_path / "teacher", vocab_dir, kind="mlm", layers=2, hidden=32)
    if layout == "vocab.txt":
        for name in ("tokenizer.json", "tokenizer_config.json"):
            (teacher / name).unlink()
        (teacher / "vocab.txt").write_bytes((vocab_dir / "vocab.txt").read_bytes())
    corpus = tmp_path / "corpus.txt"
    docs = ["".join(SENTENCES[(i + j) % len(SENTENCES)] + "\n" for j in range(4)) for i in range(12)]
    corpus.write_text("\n".join(docs), encoding="utf-8")
    pruned = tmp_path / "pruned"
    report = prune_model(teacher, read_texts([corpus]), pruned, keep_basic=False)
    assert report.tokens_after < len(tiny.vocab_tokens()) / 4
    run_pregen(PregenConfig(corpus=[corpus], output=tmp_path / "pregen", tokenizer=str(pruned), max_seq_len=32,
                            epochs=1, seed=0, workers=1))
    manifest = json.loads((tmp_path / "pregen" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["num_instances"] > 0
    student = write_student_config(tmp_path / "student.json", report.tokens_after)
    out = tmp_path / "student"
    run_distill(DistillConfig(stage="general", data=str(tmp_path / "pregen"), output=str(out), teacher=str(pruned),
                              student=str(student), batch_size=4, max_steps=3, logging_steps=1, save_steps=100,
                              workers=0, lr=1e-3, seed=0))
    assert [row["step"] for row in read_metrics(out)] == [1, 2, 3]
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["vocab_size"] == report.tokens_after
