"""Task distillation: intermediate + prediction on a toy task registered in memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests import tiny
from tests.distill.conftest import SENTENCES, read_metrics
from tinyzh.cli import app
from tinyzh.plugins import EntryPointSpec, use_entry_points
from tinyzh.tasks.base import JsonLinesTask


class ToyTask(JsonLinesTask):
    name = "toy"
    labels = ("neg", "pos")
    text_fields = ("sentence",)
    submission_file = "toy_predict.json"
    dir_names = ("toy",)
    max_seq_len = 32


@pytest.fixture
def toy_task():
    with use_entry_points({"tinyzh.tasks": [EntryPointSpec("toy", "x:y", loader=lambda: ToyTask)]}):
        yield


def _write(path: Path, n: int) -> Path:
    rows = [{"id": i, "sentence": SENTENCES[i % len(SENTENCES)], "label": "pos" if i % 2 else "neg"} for i in range(n)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def task_files(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("task")
    labels = {"id2label": {0: "neg", 1: "pos"}, "label2id": {"neg": 0, "pos": 1}}
    teacher = tiny.save_tiny_bert(root / "teacher", vocab_dir, kind="cls", layers=4, hidden=64, **labels)
    wrong = tiny.save_tiny_bert(root / "wrong", vocab_dir, kind="cls", layers=4, hidden=64,
                                id2label={0: "a", 1: "b", 2: "c"}, label2id={"a": 0, "b": 1, "c": 2})
    student = tiny.save_tiny_bert(root / "general", vocab_dir, kind="mlm", layers=2, hidden=32)
    data = root / "toy"
    data.mkdir()
    return {"teacher": teacher, "wrong": wrong, "student": student,
            "train": _write(data / "train.json", 24), "dev": _write(data / "dev.json", 8)}


def _cli(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["distill", "--stage", "task", "--task", "toy", "--data", str(files["train"]), "--output", str(out),
            "--teacher", str(files["teacher"]), "--student", str(files["student"]), "--batch-size", "8",
            "--workers", "0", "--no-progress", "--logging-steps", "1", "--save-steps", "2", "--epochs", "2", *extra]


def test_both_steps_give_a_classifier(toy_task: None, task_files: dict[str, Path], tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    out = tmp_path / "out"
    result = CliRunner().invoke(app, _cli(task_files, out, "--temperature", "2", "--hard-label-weight", "0.5"))
    assert result.exit_code == 0, result.output
    inter = read_metrics(out / "intermediate")
    assert {"embedding", "hidden_2", "attention_2"} <= set(inter[0]) and inter[0]["phase"] == "intermediate"
    assert inter[0]["lr"] < 5e-5 + 1e-12  # TinyBERT's intermediate learning rate, warming up
    pred = read_metrics(out)
    assert {"soft_ce", "hard_ce"} <= set(pred[0]) and "hidden_1" not in pred[0]
    assert len(pred) == 6  # 24 examples / batch 8 x 2 epochs
    summary = json.loads((out / "distill_summary.json").read_text())
    assert summary["phase"] == "prediction" and 0.0 <= summary["best_dev_accuracy"] <= 1.0
    model = AutoModelForSequenceClassification.from_pretrained(str(out))
    assert model.config.id2label == {0: "neg", 1: "pos"} and model.config.num_hidden_layers == 2
    ids = torch.tensor([[2, 10, 11, 3]])
    assert model(input_ids=ids).logits.shape == (1, 2)
    # Rerunning the finished command skips both phases.
    again = CliRunner().invoke(app, _cli(task_files, out, "--temperature", "2", "--hard-label-weight", "0.5"))
    assert again.exit_code == 0 and len(read_metrics(out)) == 6


def test_teacher_labels_must_match_the_task(toy_task: None, task_files: dict[str, Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _cli(task_files, tmp_path / "out", "--teacher", str(task_files["wrong"])))
    assert result.exit_code == 1
    assert "predicts labels ['a', 'b', 'c'] but task 'toy' has labels ['neg', 'pos']" in " ".join(result.output.split())


def test_teacher_label_order_is_mapped() -> None:
    from transformers import BertConfig

    from tinyzh.distill.models import check_task_labels

    class Model:
        config = BertConfig(id2label={0: "pos", 1: "neg"})

    assert check_task_labels(Model(), ("neg", "pos"), "t", "toy") == [1, 0]
    Model.config = BertConfig(id2label={0: "neg", 1: "pos"})
    assert check_task_labels(Model(), ("neg", "pos"), "t", "toy") is None


def test_task_stage_needs_a_task(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["distill", "--stage", "task", "--data", "x", "--output", str(tmp_path)])
    assert result.exit_code == 1 and "--task" in result.output


def test_the_prediction_step_has_its_own_epochs_and_lr(toy_task: None, task_files: dict[str, Path],
                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    extra = ("--lr", "2e-4", "--prediction-epochs", "3", "--prediction-lr", "1e-3")
    result = CliRunner().invoke(app, _cli(task_files, out, *extra))
    assert result.exit_code == 0, result.output
    inter, pred = read_metrics(out / "intermediate"), read_metrics(out)
    assert len(inter) == 6 and len(pred) == 9  # 24 examples / batch 8: 2 epochs, then 3
    assert max(r["lr"] for r in inter) <= 2e-4 + 1e-12
    assert 5e-4 < max(r["lr"] for r in pred) <= 1e-3 + 1e-12
    stored = json.loads((out / "distill_config.json").read_text(encoding="utf-8"))
    assert stored["prediction_epochs"] == 3 and stored["prediction_lr"] == 1e-3


def test_prediction_options_changed_during_the_intermediate_step_resume_it(
    toy_task: None, task_files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    stopped = CliRunner().invoke(app, _cli(task_files, out, "--stop-after", "2", "--hard-label-weight", "0.5"))
    assert stopped.exit_code == 0, stopped.output
    assert len(read_metrics(out / "intermediate")) == 2 and not (out / "distill_summary.json").exists()
    # The intermediate step reads none of these: its checkpoint is still its own, and it carries on
    extra = ("--prediction-epochs", "3", "--prediction-lr", "1e-3", "--temperature", "2")
    result = CliRunner().invoke(app, _cli(task_files, out, *extra))
    assert result.exit_code == 0, result.output
    inter = read_metrics(out / "intermediate")
    assert [r["step"] for r in inter] == list(range(1, 7))  # steps 1-2 before the stop, 3-6 resumed
    assert len(read_metrics(out)) == 9  # the prediction step's own 3 epochs
    # ...but the prediction step does: a finished one with other options is refused, not silently kept,
    # while the finished intermediate step is left as it was
    finished = (out / "intermediate" / "distill_summary.json").read_bytes()
    again = CliRunner().invoke(app, _cli(task_files, out, "--prediction-epochs", "2"))
    assert again.exit_code == 1 and "--prediction-epochs" in again.output
    assert (out / "intermediate" / "distill_summary.json").read_bytes() == finished
    assert len(read_metrics(out / "intermediate")) == 6


def test_only_the_intermediate_step_overlooks_the_prediction_options(tmp_path: Path) -> None:
    from tinyzh.distill.config import DistillConfig

    stored = DistillConfig(stage="task", task="toy", data="x", output=str(tmp_path)).stored_dict(tmp_path)
    changed = DistillConfig(stage="task", task="toy", data="x", output=str(tmp_path), temperature=2.0,
                            hard_label_weight=0.5, prediction_epochs=3, prediction_lr=1e-3, lr=1e-4)
    assert changed.differences(stored, tmp_path, "intermediate") == ["lr"]
    assert changed.differences(stored, tmp_path, "prediction") == [
        "hard_label_weight", "lr", "prediction_epochs", "prediction_lr", "temperature"]


def test_prediction_budget_needs_a_prediction_step(tmp_path: Path) -> None:
    from tinyzh.distill.config import DistillConfig
    from tinyzh.errors import ConfigError

    with pytest.raises(ConfigError, match="--prediction-lr applies to the task stage's prediction step"):
        DistillConfig(data="x", output=str(tmp_path), prediction_lr=1e-3)
    with pytest.raises(ConfigError, match="--step intermediate runs none"):
        DistillConfig(stage="task", task="toy", step="intermediate", data="x", output=str(tmp_path),
                      prediction_epochs=2)
    with pytest.raises(ConfigError, match="--prediction-epochs must be at least 1"):
        DistillConfig(stage="task", task="toy", data="x", output=str(tmp_path), prediction_epochs=0)
    plain = DistillConfig(stage="task", task="toy", data="x", output=str(tmp_path))
    # unset, they leave a run's identity as it was before they existed (recipes' fingerprints hold)
    assert "prediction_lr" not in plain.identity() and "prediction_epochs" not in plain.identity()
    assert plain.learning_rate("prediction") == 3e-5 and plain.phase_epochs("prediction") == plain.epochs
    both = plain.replace(lr=2e-4, prediction_lr=1e-3, prediction_epochs=5)
    assert both.learning_rate("intermediate") == 2e-4 and both.learning_rate("prediction") == 1e-3
    assert both.phase_epochs("intermediate") == 3 and both.phase_epochs("prediction") == 5
