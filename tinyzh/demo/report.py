"""The demo's table: teacher vs student vs baseline, as Markdown and JSON in the output folder, and what
it shows in plain words (:func:`explanation`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinyzh.io import write_atomic, write_json
from tinyzh.recipe import RunSummary

DESCRIPTIONS = {
    "teacher": "teacher: pre-trained (masked LM) + fine-tuned",
    "student": "student: general + task distillation (TinyBERT)",
    "baseline": "baseline: student shape, fine-tuned without distillation",
}
COLUMNS = ("model", "parameters", "size on disk (MB)", "inference (examples/s)", "dev accuracy")


@dataclass
class ModelRow:
    """One line of the demo's table."""

    name: str  # teacher | student | baseline
    description: str
    path: str
    parameters: int
    size_bytes: int  # weight files on disk
    examples_per_s: float  # dev-set inference, measured by `tinyzh eval`
    dev_accuracy: float


@dataclass
class DemoReport:
    size: str
    rows: list[ModelRow] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> wall time (0 when up to date)
    mlm_loss: tuple[float, float] | None = None  # the teacher's masked-LM loss, first and last tenth of its steps
    rows_of: dict[str, int] = field(default_factory=dict)  # task file (train, unlabeled …) -> rows used

    def row(self, name: str) -> ModelRow:
        return next(r for r in self.rows if r.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "rows": [asdict(r) for r in self.rows], "seconds": self.seconds,
                "mlm_loss": list(self.mlm_loss) if self.mlm_loss else None, "rows_of": self.rows_of}


def demo_report(summary: RunSummary, size: str) -> DemoReport:
    """Teacher, student, baseline rows (in that order) from the recipe's eval stage."""
    by_name = {m["name"]: m for m in summary.models}
    rows = [ModelRow(name, DESCRIPTIONS[name], m["path"], m["parameters"], m["size_bytes"], m["examples_per_s"],
                     m["dev_score"]) for name in DESCRIPTIONS if (m := by_name.get(name))]
    stages = {s.name: s.summary for s in summary.steps}
    pretrain = stages.get("pretrain") or {}
    mlm = (pretrain["loss_start"], pretrain["loss_end"]) if "loss_end" in pretrain else None
    counts = {k: v for k, v in (stages.get("data") or {}).items() if k != "documents" and isinstance(v, int)}
    return DemoReport(size, rows, {s.name: round(s.seconds, 2) for s in summary.steps}, mlm, counts)


def table_rows(report: DemoReport) -> list[tuple[str, ...]]:
    """One tuple of strings per model, in ``COLUMNS`` order."""
    return [
        (
            row.description,
            f"{row.parameters / 1e6:.2f}M",
            f"{row.size_bytes / 1e6:.2f}",
            f"{row.examples_per_s:.0f}",
            f"{row.dev_accuracy:.1%}",
        )
        for row in report.rows
    ]


def headline(report: DemoReport) -> str:
    """Student against teacher in one sentence, baseline for contrast."""
    teacher, student, baseline = (report.row(n) for n in ("teacher", "student", "baseline"))
    smaller = teacher.parameters / max(student.parameters, 1)
    faster = student.examples_per_s / teacher.examples_per_s if teacher.examples_per_s else float("nan")
    kept = student.dev_accuracy / teacher.dev_accuracy if teacher.dev_accuracy else float("nan")
    return (
        f"The student has {smaller:.1f}x fewer parameters than the teacher, runs {faster:.1f}x faster and keeps "
        f"{kept:.0%} of its dev accuracy ({student.dev_accuracy:.1%} vs {teacher.dev_accuracy:.1%}); "
        f"the same shape trained without distillation reaches {baseline.dev_accuracy:.1%}."
    )


def explanation(report: DemoReport) -> str:
    """What the comparison shows, in plain words: why the student beat the baseline, or why not."""
    from tinyzh.demo.make_task import words

    student, baseline = report.row("student"), report.row("baseline")
    train, unlabeled = report.rows_of.get("train", 0), report.rows_of.get("unlabeled", 0)
    loss = f" (masked-LM loss {report.mlm_loss[0]:.2f} -> {report.mlm_loss[1]:.2f})" if report.mlm_loss else ""
    examples = ", ".join(sorted(words("new"))[:3])
    setting = (
        f"The baseline learned only from the {train} labelled questions. Half of the dev questions ask about "
        f"products that none of them names ({examples} …), so there it has only the names' characters to go "
        f"on. The teacher read about those products (what they are for) in its pre-training corpus, beside "
        f"{unlabeled} unlabelled questions{loss}."
    )
    if report.size == "tiny":
        return f"{setting} At --size tiny every stage runs for seconds: the numbers mean nothing."
    if student.dev_accuracy > baseline.dev_accuracy:
        return (
            f"{setting} It learned there which category each new product belongs with, and task distillation "
            f"on the unlabelled questions passed that to the student: {student.dev_accuracy:.1%} against the "
            f"baseline's {baseline.dev_accuracy:.1%}. That is what distillation is for: a small model that "
            "keeps what a large one learned from text nobody labelled."
        )
    return (
        f"{setting} In this run that was not enough: the student ({student.dev_accuracy:.1%}) did not beat "
        f"the baseline ({baseline.dev_accuracy:.1%}). A teacher pre-trained for a minute on a small corpus "
        "knows little beyond the labelled rows. For distillation from a stronger teacher on real Chinese "
        "tasks, see docs/quality.md (python benchmarks/quality.py)."
    )


def markdown(report: DemoReport) -> str:
    lines = [
        f"# tinyzh demo ({report.size})",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join("---" for _ in COLUMNS) + " |",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(report)]
    total = sum(report.seconds.values())
    stages = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in report.seconds.items())
    lines += ["", headline(report), "", explanation(report), "", f"Time: {total:.0f} s ({stages})."]
    return "\n".join(lines) + "\n"


def write_report(report: DemoReport, out: Path) -> None:
    write_json(out / "demo_results.json", report.to_dict())
    write_atomic(out / "demo_results.md", markdown(report))
