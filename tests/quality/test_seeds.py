"""``benchmarks/quality_seeds.py`` on hand-made results.json files: mean, spread, 2 SE, retention."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
import quality_seeds


def _write(folder: Path, seed: int, tasks: dict[str, dict[str, float]], reused: dict[str, Any] | None = None,
           settings: dict[str, Any] | None = None, n_dev: int = 1000) -> Path:
    """A results.json with ``tasks``: ``{task: {model: accuracy}}``."""
    report = {
        "config": {"seed": seed, "output": f"/runs/s{seed}", "settings": settings or {"general_steps": 500}},
        "reused": reused,
        "tasks": {task: {"n_dev": n_dev, "models": {m: {"accuracy": a} for m, a in models.items()}}
                  for task, models in tasks.items()},
    }  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(report), encoding="utf-8")
    return folder


def _three_seeds(tmp_path: Path) -> list[Path]:
    full = {"teacher": 0.50, "student": 0.48, "baseline_general": 0.40, "baseline_random": 0.43}
    return [
        _write(tmp_path / "s0", 0, {"tnews": full, "ocnli": {"teacher": 0.6, "student": 0.60, "baseline_random": 0.59}}),
        # seed 1 reused seed 0's teacher: the same teacher, counted once
        _write(tmp_path / "s1", 1, {"tnews": {**full, "student": 0.50, "baseline_random": 0.41},
                                    "ocnli": {"teacher": 0.6, "student": 0.62, "baseline_random": 0.58}},
               reused={"from": "/runs/s0", "seed": 0, "teachers_from": "/runs/s0", "teachers_seed": 0}),
        # seed 2: baselines only
        _write(tmp_path / "s2", 2, {"tnews": {"baseline_general": 0.42, "baseline_random": 0.45},
                                    "ocnli": {"baseline_random": 0.60}}),
    ]  # fmt: skip


def test_mean_spread_standard_error_and_retention(tmp_path: Path) -> None:
    summary = quality_seeds.summarise(quality_seeds.load(_three_seeds(tmp_path)))
    tnews = summary["tasks"]["tnews"]
    assert tnews["models"]["teacher"] == {"runs": 1, "mean": 0.5, "std": None, "min": 0.5, "max": 0.5}
    student = tnews["models"]["student"]
    assert student["runs"] == 2 and student["mean"] == pytest.approx(0.49)
    assert student["std"] == pytest.approx(statistics.stdev([0.48, 0.50]), abs=1e-4)
    random = tnews["models"]["baseline_random"]
    assert random["runs"] == 3 and (random["min"], random["max"]) == (0.41, 0.45)
    assert random["mean"] == pytest.approx(0.43, abs=1e-4)  # the better baseline: general's mean is 0.407
    assert tnews["se"] == pytest.approx(math.sqrt(0.49 * 0.51 / 1000), abs=1e-4)  # 1.58 points
    assert tnews["best_baseline"] == "baseline_random" and tnews["margin"] == pytest.approx(0.06)
    assert tnews["beats_by_2se"] is True and tnews["retention"] == pytest.approx(0.98)
    ocnli = summary["tasks"]["ocnli"]
    assert ocnli["margin"] == pytest.approx(0.61 - 0.59) and ocnli["beats_by_2se"] is False  # 2 points < 2 x 1.54
    assert "baseline_general" not in ocnli["models"]
    assert summary["warnings"] == []


def test_warnings_for_mixed_settings_and_shared_seeds(tmp_path: Path) -> None:
    folders = [_write(tmp_path / "a", 0, {"tnews": {"student": 0.5}}),
               _write(tmp_path / "b", 0, {"tnews": {"student": 0.4}}, settings={"general_steps": 900})]  # fmt: skip
    summary = quality_seeds.summarise(quality_seeds.load(folders))
    assert summary["warnings"] == ["settings differ between the runs: general_steps",
                                   "some runs of one model share a seed (tnews student: seeds [0, 0]); their "
                                   "spread is not a seed's"]  # fmt: skip
    assert summary["tasks"]["tnews"]["beats_by_2se"] is None  # no baseline to compare with


def test_runs_of_one_seed_that_made_different_models_are_not_a_shared_seed(tmp_path: Path) -> None:
    """A recipe run (--only recipe) and a baselines-only run of the same seed each give one model a run."""
    folders = [_write(tmp_path / "recipe-s1", 1, {"tnews": {"teacher": 0.51, "student": 0.42}}),
               _write(tmp_path / "baselines-s1", 1, {"tnews": {"baseline_random": 0.30}},
                      reused={"from": "/runs/s0", "seed": 0, "teachers_from": "/runs/s0", "teachers_seed": 0}),
               _write(tmp_path / "recipe-s2", 2, {"tnews": {"teacher": 0.50, "student": 0.41}})]  # fmt: skip
    summary = quality_seeds.summarise(quality_seeds.load(folders))
    assert summary["warnings"] == []
    assert summary["tasks"]["tnews"]["models"]["student"]["runs"] == 2
    retold = _write(tmp_path / "recipe-s1-again", 1, {"tnews": {"student": 0.43}})  # the student of seed 1 again
    warnings = quality_seeds.summarise(quality_seeds.load([*folders, retold]))["warnings"]
    assert warnings == ["some runs of one model share a seed (tnews student: seeds [1, 2, 1]); their spread is "
                        "not a seed's"]  # fmt: skip


def test_teachers_of_other_seeds_in_one_work_folder_all_count(tmp_path: Path) -> None:
    folders = [_write(tmp_path / f"s{seed}", seed, {"tnews": {"teacher": 0.5 + seed / 100}}) for seed in range(3)]
    for folder in folders:  # the default --work, reused by each seed in turn
        report = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        report["config"]["output"] = "/tmp/tinyzh-quality"
        (folder / "results.json").write_text(json.dumps(report), encoding="utf-8")
    teacher = quality_seeds.summarise(quality_seeds.load(folders))["tasks"]["tnews"]["models"]["teacher"]
    assert teacher["runs"] == 3 and teacher["mean"] == pytest.approx(0.51)


def test_the_script_prints_and_writes_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert quality_seeds.main([*map(str, _three_seeds(tmp_path)), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "| tnews | student | 2 | 49.0 | 1.4 | 48.0–50.0 |" in printed
    assert "| tnews | 1000 | 1.6 | +6.0 (baseline_random) | yes | 98.0% |" in printed
    assert "| ocnli | 1000 | 1.5 | +2.0 (baseline_random) | no | 101.7% |" in printed
    assert (tmp_path / "out" / "seeds.md").read_text(encoding="utf-8") == printed
    assert json.loads((tmp_path / "out" / "seeds.json").read_text(encoding="utf-8"))["tasks"]["tnews"]["n_dev"] == 1000


def test_a_missing_results_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert quality_seeds.main([str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nowhere/results.json: no such file" in err and err.count("\n") == 1


def test_one_teacher_spelt_two_ways_counts_once(tmp_path: Path) -> None:
    own = _write(tmp_path / "s0", 0, {"tnews": {"teacher": 0.5}})
    other = _write(tmp_path / "s1", 1, {"tnews": {"teacher": 0.5}},
                   reused={"from": "/runs/s0/", "seed": 0, "teachers_from": "/runs/./s0/", "teachers_seed": 0})
    teacher = quality_seeds.summarise(quality_seeds.load([own, other]))["tasks"]["tnews"]["models"]["teacher"]
    assert teacher["runs"] == 1
