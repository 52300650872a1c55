"""benchmarks/demo_seeds.py: a tiny demo run scored on the whole dev set and on each half of it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from tests.demo.test_data import DEMO_ENTRY_POINT
from tinyzh import plugins
from tinyzh.demo.make_task import words

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import demo_seeds  # noqa: E402


def test_tiny_demo_scored_by_half(tmp_path: Path, capsys) -> None:
    threads = torch.get_num_threads()
    with plugins.use_entry_points(DEMO_ENTRY_POINT):
        by_seed = demo_seeds.main(["--seeds", "3", "--work", str(tmp_path), "--size", "tiny", "--threads", "1"])
    torch.set_num_threads(threads)
    scores = by_seed[3]
    assert set(scores) == {"teacher", "student", "baseline"}
    dev = [json.loads(line) for line in (tmp_path / "seed-3" / "data" / "demo_task" / "dev.json").open(encoding="utf-8")]
    n_new = sum(any(w in row["sentence"] for w in words("new")) for row in dev)
    assert 0 < n_new < len(dev)
    for s in scores.values():  # the whole set's accuracy is the halves' weighted by their rows
        assert abs(s["all"] * len(dev) - s["seen"] * (len(dev) - n_new) - s["new"] * n_new) < 1e-6
    # the student's accuracy is the one the demo itself reported
    report = json.loads((tmp_path / "seed-3" / "demo_results.json").read_text(encoding="utf-8"))
    reported = {row["name"]: row["dev_accuracy"] for row in report["rows"]}
    assert all(abs(scores[m]["all"] - reported[m]) < 1e-6 for m in scores)
    assert json.loads((tmp_path / "demo_seeds.json").read_text(encoding="utf-8"))["3"] == scores
    assert "| 3 |" in capsys.readouterr().out


def test_summary_gives_mean_spread_and_wins() -> None:
    def run(student: float, baseline: float) -> dict[str, dict[str, float]]:
        return {"teacher": dict.fromkeys(demo_seeds.HALVES, 0.9), "student": dict.fromkeys(demo_seeds.HALVES, student),
                "baseline": dict.fromkeys(demo_seeds.HALVES, baseline)}

    lines = demo_seeds.summary_lines({0: run(0.8, 0.6), 1: run(0.7, 0.75)})
    assert lines[-2].startswith("| mean ± sd | 90.0 ± 0.0") and "75.0 ± 7.1" in lines[-2]
    assert lines[-1].strip() == "The student beat the no-distillation baseline on 1 of 2 seeds."
