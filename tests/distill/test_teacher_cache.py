"""The prediction step's cached teacher logits, and task rows without a label."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests import tiny
from tests.distill.conftest import SENTENCES, read_metrics
from tests.distill.test_task import ToyTask, _write
from tinyzh.cli import app
from tinyzh.distill import DistillConfig
from tinyzh.distill.distributed import DistEnv
from tinyzh.distill.losses import hard_ce
from tinyzh.distill.phase import build_phase
from tinyzh.distill.teacher_cache import CACHE, cache_teacher_logits
from tinyzh.plugins import EntryPointSpec, use_entry_points


@pytest.fixture
def toy() -> None:
    with use_entry_points({"tinyzh.tasks": [EntryPointSpec("toy", "x:y", loader=lambda: ToyTask)]}):
        yield


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cache")
    labels = {"id2label": {0: "pos", 1: "neg"}, "label2id": {"pos": 0, "neg": 1}}  # the task's order reversed
    teacher = tiny.save_tiny_bert(root / "teacher", vocab_dir, kind="cls", layers=4, hidden=64, **labels)
    student = tiny.save_tiny_bert(root / "general", vocab_dir, kind="mlm", layers=2, hidden=32)
    (root / "toy").mkdir()
    rows = [{"id": i, "sentence": SENTENCES[i % len(SENTENCES)] * (1 + i % 3)} | ({"label": "pos"} if i % 2 else {})
            for i in range(24)]  # every other row without a label; lengths vary, so batches pad differently
    unlabelled = root / "toy" / "mixed.json"
    unlabelled.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    bare = root / "bare.json"
    bare.write_text("".join(json.dumps({"sentence": r["sentence"]}, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return {"teacher": teacher, "student": student, "train": _write(root / "toy" / "train.json", 24),
            "mixed": unlabelled, "bare": bare}


def _config(files: dict[str, Path], out: Path, **kw) -> DistillConfig:
    options = dict(stage="task", task="toy", step="prediction", data=str(files["train"]), output=str(out),
                   teacher=str(files["teacher"]), student=str(files["student"]), batch_size=8, epochs=2,
                   logging_steps=1, workers=0, hard_label_weight=0.5)
    return DistillConfig(**(options | kw))


def test_cached_logits_give_the_terms_of_the_teacher_run_on_the_fly(toy: None, files: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    phase = build_phase(_config(files, tmp_path), "prediction", str(files["student"]), DistEnv())
    phase.student.eval()
    rows = [5, 0, 17, 9, 2]
    live = phase.loss_terms(phase.data.collate([phase.data.dataset[i] for i in rows]))
    report = cache_teacher_logits(phase, tmp_path)
    assert report["computed"] and (tmp_path / CACHE).is_file()
    phase.teacher.forward = None  # the cached step must not run the teacher
    batch = phase.data.collate([phase.data.dataset[i] for i in rows])
    assert batch["teacher_logits"].shape == (5, 2)
    cached = phase.loss_terms(batch)
    assert set(cached) == set(live) == {"soft_ce", "hard_ce"}
    for name in live:
        assert cached[name].item() == pytest.approx(live[name].item(), rel=1e-6, abs=1e-7)


def test_training_with_and_without_the_cache_gives_the_same_losses(toy: None, files: dict[str, Path],
                                                                   tmp_path: Path) -> None:
    from tinyzh.distill import run_distill

    cached = run_distill(_config(files, tmp_path / "cached"))[0]
    live = run_distill(_config(files, tmp_path / "live", cache_teacher_logits=False))[0]
    assert cached.teacher_logits_cache["computed"] and live.teacher_logits_cache is None
    a, b = read_metrics(tmp_path / "cached"), read_metrics(tmp_path / "live")
    assert len(a) == len(b) == 6
    for row_a, row_b in zip(a, b, strict=True):
        assert row_a["loss"] == pytest.approx(row_b["loss"], rel=1e-5)


def test_cache_is_reused_and_recomputed_when_stale(toy: None, files: dict[str, Path], tmp_path: Path) -> None:
    phase = build_phase(_config(files, tmp_path / "a"), "prediction", str(files["student"]), DistEnv())
    assert cache_teacher_logits(phase, tmp_path)["computed"]
    stored = phase.data.dataset.features["teacher_logits"].clone()
    assert not cache_teacher_logits(phase, tmp_path)["computed"]  # same rows, same teacher: read back
    assert torch.equal(phase.data.dataset.features["teacher_logits"], stored)
    other = build_phase(_config(files, tmp_path / "b", data=str(files["mixed"])), "prediction",
                        str(files["student"]), DistEnv())
    assert cache_teacher_logits(other, tmp_path)["computed"]  # other rows: the old file is not used
    (tmp_path / CACHE).write_bytes(b"cut short")
    assert cache_teacher_logits(other, tmp_path)["computed"]  # damaged: computed again


def test_rows_without_labels_are_distilled(toy: None, files: dict[str, Path], tmp_path: Path) -> None:
    args = ["distill", "--stage", "task", "--task", "toy", "--data", str(files["mixed"]), "--output",
            str(tmp_path / "out"), "--teacher", str(files["teacher"]), "--student", str(files["student"]),
            "--batch-size", "8", "--workers", "0", "--no-progress", "--logging-steps", "1", "--epochs", "1",
            "--hard-label-weight", "0.5", "--attention-loss", "relation", "--dev", str(files["train"])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "distill_summary.json").read_text(encoding="utf-8"))
    assert summary["unlabelled_rows"] == 12 and summary["phase"] == "prediction"
    assert all(math.isfinite(r["hard_ce"]) and math.isfinite(r["soft_ce"]) for r in read_metrics(tmp_path / "out"))
    assert "relation_2" in read_metrics(tmp_path / "out" / "intermediate")[0]


def test_a_file_without_any_label(toy: None, files: dict[str, Path], tmp_path: Path) -> None:
    from tinyzh.distill import run_distill
    from tinyzh.errors import ConfigError

    with pytest.raises(ConfigError, match="has no labelled row .* set --hard-label-weight 0"):
        run_distill(_config(files, tmp_path / "a", data=str(files["bare"])))
    result = run_distill(_config(files, tmp_path / "b", data=str(files["bare"]), hard_label_weight=0.0))[0]
    assert result.finished and result.unlabelled_rows == 24


def test_hard_ce_skips_rows_without_a_label() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [5.0, -5.0]])
    labels = torch.tensor([0, -1, 1])
    expected = torch.nn.functional.cross_entropy(logits[[0, 2]], labels[[0, 2]])
    assert hard_ce(logits, labels).item() == pytest.approx(expected.item())
    assert hard_ce(logits, torch.tensor([-1, -1, -1])).item() == 0.0
