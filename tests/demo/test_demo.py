"""``tinyzh demo --size tiny`` end to end: every stage runs and the table has the expected rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.demo.test_data import DEMO_ENTRY_POINT
from tests.distill.test_report import scalars
from tinyzh import plugins
from tinyzh.cli import app
from tinyzh.demo.report import DemoReport, ModelRow, explanation


@pytest.fixture
def demo_task_registered() -> None:
    with plugins.use_entry_points(DEMO_ENTRY_POINT):
        yield


def test_tiny_demo_end_to_end(demo_task_registered: None, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    threads = torch.get_num_threads()
    result = CliRunner().invoke(app, ["demo", "--output", str(out), "--size", "tiny", "--threads", "1",
                                      "--report-to", "tensorboard"])
    torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    for stage in ("data", "vocab", "pregen", "pretrain", "finetune", "distill_general", "augment", "distill_task",
                  "eval"):
        assert f"{stage}: " in result.output  # each stage announced
    text = " ".join(result.output.split())
    assert "fewer parameters than the teacher" in text and "without distillation reaches" in text
    assert "Half of the dev questions ask about products that none of them names" in text

    report = json.loads((out / "demo_results.json").read_text(encoding="utf-8"))
    rows = {row["name"]: row for row in report["rows"]}
    assert list(rows) == ["teacher", "student", "baseline"]
    assert rows["student"]["parameters"] == rows["baseline"]["parameters"] < rows["teacher"]["parameters"]
    assert rows["student"]["size_bytes"] < rows["teacher"]["size_bytes"]
    assert all(0.0 <= r["dev_accuracy"] <= 1.0 and r["examples_per_s"] > 0 for r in rows.values())
    assert report["size"] == "tiny" and set(report["seconds"]) >= {"pregen", "eval"}
    assert report["rows_of"] == {"train": 24, "dev": 16, "test": 16, "unlabeled": 32}
    start, end = report["mlm_loss"]
    assert start > 0 and end > 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["recipe"] == "demo-tiny" and [m["name"] for m in results["models"]] == ["student", "teacher",
                                                                                           "baseline"]
    assert (out / "recipe.toml").read_text(encoding="utf-8").startswith("# The demo in seconds")

    # The stages wrote what the real commands write.
    assert (out / "pregen" / "manifest.json").is_file()
    assert (out / "student" / "distill_config.json").is_file()
    assert json.loads((out / "student" / "config.json").read_text(encoding="utf-8"))["id2label"] == {
        "0": "clothing", "1": "digital", "2": "food", "3": "home"}
    augmented = (out / "augment" / "train.json").read_text(encoding="utf-8").splitlines()
    assert len(augmented) > 24  # the 24 originals plus their copies
    distilled = (out / "distill-data" / "train.json").read_text(encoding="utf-8").splitlines()
    assert distilled[: len(augmented)] == augmented and len(distilled) == len(augmented) + 32  # + unlabeled.json
    assert all("label" not in json.loads(line) for line in distilled[len(augmented):])
    md = (out / "demo_results.md").read_text(encoding="utf-8")
    table = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    assert len(table) == 4 and table[2].startswith("| student")  # header + teacher, student, baseline

    # every stage's metrics as TensorBoard events, read back with tensorboard's own reader
    board = {stage: scalars(out / "tensorboard" / stage) for stage in ("pretrain", "distill_general",
                                                                        "distill_task", "eval")}
    assert [s for s, _ in board["pretrain"]["pretrain/mlm_loss"]] == [1, 2, 3, 4]
    assert {"general/loss", "general/hidden_1", "general/attention_1", "general/lr",
            "general/samples_per_s"} <= set(board["distill_general"])
    assert {"intermediate/hidden_1", "prediction/soft_ce", "prediction/lr"} <= set(board["distill_task"])
    student_dev = board["eval"]["eval/student/demo-products/dev_accuracy"][0][1]
    assert student_dev == pytest.approx(rows["student"]["dev_accuracy"])

    again = CliRunner().invoke(app, ["demo", "--output", str(out), "--size", "tiny", "--threads", "1"])
    torch.set_num_threads(threads)
    assert again.exit_code == 0, again.output
    assert " ".join(again.output.split()).count("up to date, skipped") == 9  # every stage
    assert json.loads((out / "demo_results.json").read_text(encoding="utf-8"))["rows"] == report["rows"]


def test_refuses_to_clobber(demo_task_registered: None, tmp_path: Path) -> None:
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", "--output", str(other), "--size", "tiny"])
    assert result.exit_code == 1 and "is not the folder of a tinyzh run" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["demo", "--output", str(other), "--size", "tiny", "--overwrite"])
    assert result.exit_code == 1 and (other / "notes.txt").read_text(encoding="utf-8") == "keep me"  # --overwrite never removes it
    result = CliRunner().invoke(app, ["demo", "--output", str(tmp_path / "new"), "--size", "huge"])
    assert result.exit_code == 1 and "--size 'huge' is not a demo size" in result.output


def _report(student: float, baseline: float, size: str = "default") -> DemoReport:
    rows = [ModelRow(name, name, name, 1, 1, 1.0, accuracy)
            for name, accuracy in (("teacher", 0.9), ("student", student), ("baseline", baseline))]
    return DemoReport(size, rows, mlm_loss=(6.1, 2.3), rows_of={"train": 96, "unlabeled": 3000})


def test_explanation_says_why_the_student_won_or_plainly_that_it_did_not() -> None:
    won = " ".join(explanation(_report(0.85, 0.70)).split())
    assert "only from the 96 labelled questions" in won and "3000 unlabelled questions" in won
    assert "(masked-LM loss 6.10 -> 2.30)" in won and "85.0% against the baseline's 70.0%" in won
    lost = " ".join(explanation(_report(0.70, 0.70)).split())
    assert "did not beat the baseline (70.0%)" in lost and "docs/quality.md" in lost
    assert "the numbers mean nothing" in explanation(_report(0.85, 0.70, "tiny"))
