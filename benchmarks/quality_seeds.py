"""Several seeds of ``benchmarks/quality.py``: mean, spread and the issue's 2-standard-error target.

Reads the ``results.json`` of each folder given (one seed each, or a baselines-only run of another
seed) and prints, per task and model, the runs, mean, sample standard deviation and range of dev
accuracy; then per task the dev set's binomial standard error ``sqrt(p (1 - p) / n)`` at the
student's mean ``p`` (``n`` dev rows), the student's margin over the better baseline (by mean), whether
that margin is at least 2 standard errors (the issue's target), and retention (mean student / mean
teacher). A teacher reused by several runs (``--reuse``) is counted once. Usage::

    python benchmarks/quality_seeds.py results/seed-0 results/seed-1 results/seed-2 --out results/seeds
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

MODELS = ("teacher", "student", "baseline_general", "baseline_random")
BASELINES = ("baseline_general", "baseline_random")


def load(folders: list[Path]) -> list[dict[str, Any]]:
    """Each folder's results.json (a results.json path is taken as it is); a ``ValueError`` names a bad one."""
    reports = []
    for folder in folders:
        path = folder if folder.suffix == ".json" else folder / "results.json"
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except OSError:
            raise ValueError(f"{path}: no such file; give folders that benchmarks/quality.py wrote") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON ({exc})") from None
        if "tasks" not in reports[-1]:
            raise ValueError(f"{path}: no 'tasks'; not a benchmarks/quality.py results.json")
    return reports


def spread(values: list[float]) -> dict[str, Any]:
    """Runs, mean, sample standard deviation (None for one run) and range of ``values``."""
    return {"runs": len(values), "mean": round(statistics.fmean(values), 4),
            "std": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "min": min(values), "max": max(values)}  # fmt: skip


def _teacher_origin(report: dict[str, Any]) -> str:
    """The run that fine-tuned a run's teacher, as work folder and seed: its own, or the one it reused
    (several runs may share a --work folder, one after the other, with other seeds)."""
    reused = report.get("reused") or {}
    folder = reused["teachers_from"] if reused.get("teachers_from") else report["config"]["output"]
    return f"{_resolved(folder)} seed {_teacher_seed(report)}"


def _teacher_seed(report: dict[str, Any]) -> Any:
    """The seed of the run that fine-tuned a run's teacher."""
    reused = report.get("reused") or {}
    if reused.get("teachers_from"):
        return reused.get("teachers_seed", reused.get("seed"))
    return report["config"].get("seed")


def _resolved(folder: str) -> str:
    """One spelling per folder: ``runs/x`` and ``/work/runs/x`` (and ``runs/x/``) name the same teacher."""
    return str(Path(folder).resolve())


def summarise(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"tasks": {task: {"models": {model: spread}, "n_dev", "se", "margin", "beats_by_2se", "retention"}},
    "warnings": [...]}``."""
    tasks: dict[str, Any] = {}
    shared: list[str] = []  # "task model: seeds [...]" where one model has two runs of one seed
    names = list(dict.fromkeys(t for r in reports for t in r["tasks"]))
    for task in names:
        values: dict[str, dict[str, float]] = {m: {} for m in MODELS}  # model -> run key -> accuracy
        seeds: dict[str, dict[str, Any]] = {}  # model -> run key -> the seed that made it
        n_dev = None
        for i, report in enumerate(reports):
            result = report["tasks"].get(task)
            if result is None:
                continue
            n_dev = n_dev or result["n_dev"]
            for model, entry in result["models"].items():
                teacher = model == "teacher"
                key = _teacher_origin(report) if teacher else str(i)  # a reused teacher counts once
                values.setdefault(model, {})[key] = entry["accuracy"]
                seeds.setdefault(model, {})[key] = _teacher_seed(report) if teacher else report["config"].get("seed")
        models = {m: spread(list(v.values())) for m, v in values.items() if v}
        tasks[task] = {"models": models, "n_dev": n_dev, **_target(models, n_dev)}
        shared += [f"{task} {m}: seeds {list(s.values())}" for m, s in seeds.items() if len(set(s.values())) < len(s)]
    return {"tasks": tasks, "warnings": _warnings(reports, shared)}


def _target(models: dict[str, Any], n_dev: int | None) -> dict[str, Any]:
    """The student against the better baseline, in standard errors of the dev set; retention."""
    student, teacher = models.get("student"), models.get("teacher")
    baselines = [b for b in BASELINES if b in models]
    out: dict[str, Any] = {"se": None, "best_baseline": None, "margin": None, "beats_by_2se": None,
                           "retention": None}  # fmt: skip
    if student and n_dev:
        p = student["mean"]
        out["se"] = round(math.sqrt(p * (1 - p) / n_dev), 4)
    if student and baselines:
        best = max(baselines, key=lambda b: models[b]["mean"])
        out["best_baseline"], out["margin"] = best, round(student["mean"] - models[best]["mean"], 4)
        out["beats_by_2se"] = out["se"] is not None and out["margin"] >= 2 * out["se"]
    if student and teacher and teacher["mean"]:
        out["retention"] = round(student["mean"] / teacher["mean"], 4)
    return out


def _warnings(reports: list[dict[str, Any]], shared: list[str]) -> list[str]:
    """Settings that differ between the runs (besides the seed): their means would mix different recipes;
    and a model with two runs of one seed (runs of one seed that made different models, such as a recipe
    run and a baselines-only run, are fine)."""
    settings = [r["config"].get("settings", {}) for r in reports]
    differ = sorted({k for s in settings for k in s if any(o.get(k) != s.get(k) for o in settings)})
    warnings = [f"settings differ between the runs: {', '.join(differ)}"] if differ else []
    if shared:
        warnings.append(f"some runs of one model share a seed ({'; '.join(shared)}); their spread is not a seed's")
    return warnings


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| task | model | runs | mean | std | range |", "|---|---|---|---|---|---|"]
    for task, result in summary["tasks"].items():
        for model, s in result["models"].items():
            lines.append(f"| {task} | {model} | {s['runs']} | {_pct(s['mean'])} | {_pct(s['std'])} | "
                         f"{_pct(s['min'])}–{_pct(s['max'])} |")  # fmt: skip
    lines += ["", "| task | dev rows | SE at the student's mean | student − best baseline | ≥ 2 SE | retention |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for task, r in summary["tasks"].items():
        margin = "–" if r["margin"] is None else f"{100 * r['margin']:+.1f} ({r['best_baseline']})"
        beats = {None: "–", True: "yes", False: "no"}[r["beats_by_2se"]]
        retention = "–" if r["retention"] is None else f"{r['retention']:.1%}"
        lines.append(f"| {task} | {r['n_dev'] or '–'} | {_pct(r['se'])} | {margin} | {beats} | {retention} |")
    lines += ["", "Dev accuracy in %. std: sample standard deviation over the runs; a teacher reused by several "
              "runs counts once."] + [f"Warning: {w}." for w in summary["warnings"]]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="folders holding results.json, one per seed")
    parser.add_argument("--out", type=Path, help="also write seeds.json and seeds.md here")
    args = parser.parse_args(argv)
    try:
        summary = summarise(load(args.results))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = markdown(summary)
    print(text, end="")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "seeds.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (args.out / "seeds.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
