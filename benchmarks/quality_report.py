"""The experiment's report: ``results.json``, ``results.md`` (the table) and ``results.png`` (the chart)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = ("task", "model", "parameters", "size on disk (MB)", "examples/s batch 1", "examples/s batch 32",
           "dev accuracy", "of teacher")  # fmt: skip
LABELS = {
    "teacher": "teacher (MLM pre-trained, fine-tuned)",
    "student": "student: general + task distillation",
    "baseline_general": "baseline: general-distilled student, fine-tuned",
    "baseline_random": "baseline: random-init student, fine-tuned",
}

BASELINE_NAMES = ("baseline_general", "baseline_random")
SAME = "as student"  # baselines share the student's architecture: same size and speed


def ratio(part: float, whole: float) -> float | None:
    """``part / whole`` rounded, or None when ``whole`` is 0 (a tiny run's teacher can score 0)."""
    return round(part / whole, 4) if whole else None


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def task_rows(task: str, result: dict[str, Any], teacher_label: str | None = None) -> list[tuple[str, ...]]:
    rows = []
    labels = {**LABELS, "teacher": teacher_label or LABELS["teacher"]}
    teacher = result["models"].get("teacher", {}).get("accuracy")  # absent with --only baselines
    for name in [n for n in LABELS if n in result["models"]]:
        model = result["models"][name]
        speed = model.get("examples_per_s") or {}
        rows.append((
            task, labels[name], f"{model['parameters'] / 1e6:.2f}M",
            f"{model['size_bytes'] / 1e6:.1f}" if model.get("size_bytes") else SAME,
            f"{speed['batch_1']:.0f}" if speed else SAME, f"{speed['batch_32']:.0f}" if speed else SAME,
            f"{model['accuracy']:.1%}", _percent(ratio(model["accuracy"], teacher) if teacher is not None else None),
        ))  # fmt: skip
    return rows


def markdown(report: dict[str, Any]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for task, result in report["tasks"].items():
        lines += ["| " + " | ".join(cells) + " |" for cells in task_rows(task, result, report.get("teacher_label"))]
    lines += ["", summary_line(report)]
    if any(b in r["models"] for r in report["tasks"].values() for b in BASELINE_NAMES):
        lines += ["", baseline_line(report)]
    if (unlabeled := unlabeled_line(report)) is not None:
        lines += ["", unlabeled]
    lines += ["", stage_line(report)]
    if report.get("reused"):
        lines += ["", reused_line(report)]
    return "\n".join(lines) + "\n"


def reused_line(report: dict[str, Any]) -> str:
    reused = report["reused"]
    origin = reused["teachers_from"]
    teachers = f" (which took them from {origin})" if origin != reused["from"] else ""
    return (f"Reused from {reused['from']} (seed {reused['seed']}), not made in this run: "
            f"{', '.join(reused['parts'])}{teachers}.")  # fmt: skip


def summary_line(report: dict[str, Any]) -> str:
    if report.get("parameter_ratio") is None:  # --only baselines: no student to compare
        return f"Baselines only (seed {report['config']['seed']}): no teacher or student in this run."
    parts = []
    for task, result in report["tasks"].items():
        models = result["models"]
        baselines = [b for b in BASELINE_NAMES if b in models]
        beats = all(models["student"]["accuracy"] > models[b]["accuracy"] for b in baselines)
        speedup = result.get("speedup_batch_1")
        which = "both baselines" if len(baselines) == 2 else "the baseline"  # --baselines random or general
        against = ("no baselines run (--only recipe)" if not baselines
                   else f"beats {which}" if beats else f"does not beat {which}")
        parts.append(f"{task}: retention {_percent(result['retention'])}, {against}"
                     + (f", {speedup:.1f}x the teacher's batch-1 speed" if speedup else ""))  # fmt: skip
    ratio = report["parameter_ratio"]
    return f"Student / teacher parameters: 1/{1 / ratio:.1f}. " + "; ".join(parts) + "."


def baseline_line(report: dict[str, Any]) -> str:
    passes = ", ".join(
        f"{task} {result['n_train_augmented']:,} rows × {result['baseline_passes']:g}"
        for task, result in report["tasks"].items()
    )
    return ("Baselines train on the student's augmented sets for as many passes as the student's two "
            f"task-distillation steps ({passes}), with hard labels and no teacher.")  # fmt: skip


def unlabeled_line(report: dict[str, Any]) -> str | None:
    """With ``--set unlabeled=true``: how many unlabelled rows the student's task distillation added."""
    counts = ", ".join(f"{task} {result['n_unlabeled']:,}" for task, result in report["tasks"].items()
                       if result.get("n_unlabeled"))
    settings = report["config"].get("settings") or {}
    copies = " and their augmented copies" if settings.get("augment_unlabeled") else ""
    return (f"The student's task distillation also saw each task's unlabelled rows{copies} ({counts}), labelled "
            "by the teacher alone; the baselines cannot use them.") if counts else None


def stage_line(report: dict[str, Any]) -> str:
    seconds = report["seconds"]
    stages = ", ".join(f"{name} {value:.0f} s" for name, value in seconds.items())
    return f"Wall time {sum(seconds.values()) / 60:.1f} min ({stages})."


def chart(report: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(report["tasks"])
    names = [n for n in LABELS if n in report["tasks"][tasks[0]]["models"]]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [100 * report["tasks"][t]["models"][name]["accuracy"] for t in tasks]
        bars = ax.bar([x + i * width for x in range(len(tasks))], values, width, label=LABELS[name])
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(tasks))], tasks)
    ax.set_ylabel("dev accuracy (%)")
    ratio = report.get("parameter_ratio")
    ax.set_title(f"tinyzh compression quality ({report['config']['size']})"
                 + (f", student 1/{1 / ratio:.1f} of the teacher's parameters" if ratio else ""))  # fmt: skip
    top = max(100 * m["accuracy"] for t in tasks for m in report["tasks"][t]["models"].values())
    ax.set_ylim(0, max(top, 1) * 1.4)  # room for the legend above the bars
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(report: dict[str, Any], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "results.json", directory / "results.md", directory / "results.png"]
    paths[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(report), encoding="utf-8")
    chart(report, paths[2])
    return paths
