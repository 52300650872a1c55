"""The quality report's summary sentence names the baselines the run trained, however many."""

from __future__ import annotations

from typing import Any

import pytest
from quality_report import markdown, summary_line


def _report(**accuracies: float) -> dict[str, Any]:
    models = {name: {"accuracy": value, "parameters": 1_000_000} for name, value in accuracies.items()}
    return {"parameter_ratio": 0.2, "config": {"seed": 0}, "seconds": {"data": 1.0},
            "tasks": {"tnews": {"models": models, "retention": 0.8, "speedup_batch_1": 6.0,
                                "n_train_augmented": 10, "baseline_passes": 4.0}}}  # fmt: skip


@pytest.mark.parametrize(("baselines", "expected"), [
    ({"baseline_random": 0.3, "baseline_general": 0.35}, "tnews: retention 80.0%, beats both baselines"),
    ({"baseline_random": 0.3, "baseline_general": 0.45}, "tnews: retention 80.0%, does not beat both baselines"),
    ({"baseline_general": 0.35}, "tnews: retention 80.0%, beats the baseline"),
    ({"baseline_random": 0.45}, "tnews: retention 80.0%, does not beat the baseline"),
    ({}, "tnews: retention 80.0%, no baselines run (--only recipe)"),
])  # fmt: skip
def test_the_summary_names_the_baselines_run(baselines: dict[str, float], expected: str) -> None:
    report = _report(teacher=0.5, student=0.4, **baselines)
    assert expected in summary_line(report)
    assert ("Baselines train on the student's augmented sets" in markdown(report)) == bool(baselines)
