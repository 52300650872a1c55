"""The reporting seam: distillation metrics reach a reporter and TensorBoard event files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.distill.conftest import general_config, read_metrics
from tinyzh.errors import ConfigError
from tinyzh.report import Reporter, Reporters, TensorBoardReporter, parse_report_to


class Recorder(Reporter):
    def __init__(self) -> None:
        self.metric_rows: list[tuple[str, int, dict]] = []
        self.bars: list[tuple[str, float, float | None]] = []

    def metrics(self, group: str, step: int, values) -> None:
        self.metric_rows.append((group, step, dict(values)))

    def progress(self, name: str, completed: float, total: float | None = None, info=None) -> None:
        self.bars.append((name, completed, total))


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_distill_sends_every_logged_row_to_the_reporter_and_tensorboard(distill_root, tmp_path: Path) -> None:
    from tinyzh.distill import run_distill

    out = tmp_path / "student"
    recorder = Recorder()
    board = TensorBoardReporter(out / "tensorboard")
    run_distill(general_config(distill_root, out, max_steps=4), Reporters([recorder, board]))
    board.close()
    rows = read_metrics(out)
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert [(g, s) for g, s, _ in recorder.metric_rows] == [("general", 1), ("general", 2), ("general", 3),
                                                            ("general", 4)]
    assert recorder.bars[-1] == ("distill general", 4, 4)
    found = scalars(out / "tensorboard")
    # every loss term, the learning rate and samples/s, at every logged step, with metrics.jsonl's values
    for key in ("loss", "embedding", "hidden_1", "attention_1", "lr", "samples_per_s"):
        assert [step for step, _ in found[f"general/{key}"]] == [1, 2, 3, 4], key
    assert found["general/loss"][-1][1] == pytest.approx(rows[-1]["loss"], rel=1e-5)
    assert found["general/hidden_2"][0][1] == pytest.approx(rows[0]["hidden_2"], rel=1e-5)


def test_tensorboard_skips_values_it_cannot_plot(tmp_path: Path) -> None:
    board = TensorBoardReporter(tmp_path)
    board.metrics("eval/m", 3, {"tnews/dev_accuracy": 0.5, "note": "text", "nan": float("nan"), "flag": True})
    board.close()
    assert scalars(tmp_path) == {"eval/m/tnews/dev_accuracy": [(3, 0.5)]}


def test_report_to_names() -> None:
    assert parse_report_to("none") == [] and parse_report_to(" TensorBoard ") == ["tensorboard"]
    with pytest.raises(ConfigError, match="expected one of none, tensorboard"):
        parse_report_to("wandb")


def test_cli_report_to_tensorboard_writes_event_files(distill_root, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tests.distill.test_general import _cli
    from tinyzh.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, _cli(distill_root, out, "--max-steps", "2", "--logging-steps", "1",
                                          "--report-to", "tensorboard"))
    assert result.exit_code == 0, result.output
    assert [s for s, _ in scalars(out / "tensorboard")["general/loss"]] == [1, 2]
    bad = CliRunner().invoke(app, _cli(distill_root, tmp_path / "o2", "--max-steps", "1", "--report-to", "wandb"))
    assert bad.exit_code == 1 and "expected one of none, tensorboard" in " ".join(bad.output.split())
