"""Per-pair results, and the summary across models and tasks: rich table, JSON, CSV and a bar chart.

One :class:`PairResult` per (model, task) is stored as ``OUTPUT/<model>/pairs/<task>.json``; its
presence (with the same settings) is what makes a pair "finished" for resuming.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tinyzh.io import write_atomic, write_json


@dataclass
class PairResult:
    model: str
    task: str
    metric: str
    dev_score: float
    n_dev: int
    parameters: int
    examples_per_s: float  # dev-set inference speed
    n_train: int = 0
    n_test: int = 0
    test_score: float | None = None  # when the test file carries labels (test_public.json)
    skipped_rows: dict[str, int] = field(default_factory=dict)  # split -> unlabelled rows dropped ("-")
    train_steps: int = 0
    train_seconds: float = 0.0
    train_loss: float | None = None  # loss of the last training batch
    train_examples_per_s: float = 0.0
    submission: str | None = None  # file name under OUTPUT/<model>/submission/
    saved_model: str | None = None
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> PairResult | None:
        """The stored result, or None when the file is missing or unreadable (the pair reruns)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError):
            return None


@dataclass
class Summary:
    """Scores of every model on every task (``None`` where a pair has no result)."""

    models: list[str]
    tasks: list[str]
    results: list[PairResult]

    def get(self, model: str, task: str) -> PairResult | None:
        return next((r for r in self.results if r.model == model and r.task == task), None)

    def average(self, model: str) -> float | None:
        """Mean dev score over the tasks this model has results for."""
        scores = [r.dev_score for r in self.results if r.model == model]
        return sum(scores) / len(scores) if scores else None

    def parameters(self, model: str) -> int | None:
        counts = [r.parameters for r in self.results if r.model == model]
        return max(counts) if counts else None

    def examples_per_s(self, model: str) -> float | None:
        """Dev inference speed over all tasks together (total examples / total seconds)."""
        rows = [r for r in self.results if r.model == model and r.examples_per_s > 0]
        if not rows:
            return None
        return sum(r.n_dev for r in rows) / sum(r.n_dev / r.examples_per_s for r in rows)

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per model: task scores (x100), average, parameters, examples/s."""
        table = []
        for model in self.models:
            row: dict[str, Any] = {"model": model}
            for task in self.tasks:
                result = self.get(model, task)
                row[task] = None if result is None else round(100 * result.dev_score, 2)
            average, speed = self.average(model), self.examples_per_s(model)
            row["average"] = None if average is None else round(100 * average, 2)
            row["parameters"] = self.parameters(model)
            row["examples_per_s"] = None if speed is None else round(speed, 1)
            table.append(row)
        return table

    def to_json(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "models": self.rows(), "pairs": [asdict(r) for r in self.results]}


def _fmt(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table_cells(summary: Summary) -> tuple[list[str], list[list[str]]]:
    """(columns, rows) as text: models x tasks, dev scores x100, then average, parameter count (M) and
    inference examples/s."""
    columns = ["model", *summary.tasks, "avg", "params (M)", "ex/s"]
    rows = []
    for row in summary.rows():
        params = None if row["parameters"] is None else row["parameters"] / 1e6
        cells = [_fmt(row[t]) for t in summary.tasks]
        rows.append([row["model"], *cells, _fmt(row["average"]), _fmt(params, 1), _fmt(row["examples_per_s"], 1)])
    return columns, rows


def write_summary_json(summary: Summary, path: Path) -> Path:
    write_json(path, summary.to_json())
    return path


def write_csv(summary: Summary, path: Path) -> Path:
    columns = ["model", *summary.tasks, "average", "parameters", "examples_per_s"]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    for row in summary.rows():
        writer.writerow({k: "" if row[k] is None else row[k] for k in columns})
    write_atomic(path, text.getvalue())
    return path


def write_chart(summary: Summary, path: Path) -> Path:
    """Grouped bars: one group per task (plus the average), one bar per model; dev score x100."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never opens a window
    import matplotlib.pyplot as plt
    import numpy as np

    rows = summary.rows()
    groups = [*summary.tasks, "average"]
    x = np.arange(len(groups))
    width = 0.8 / max(1, len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(groups) + 2), 4))
    for i, row in enumerate(rows):
        values = [row[g] if row[g] is not None else 0.0 for g in groups]
        bars = ax.bar(x + (i - (len(rows) - 1) / 2) * width, values, width, label=row["model"])
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.set_xticks(x, groups, rotation=20)
    ax.set_ylabel("dev score (x100)")
    ax.set_ylim(0, 100)
    ax.set_title("tinyzh eval: dev scores by task")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
