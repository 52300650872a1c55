"""Compression quality on real Chinese tasks (TNEWS, OCNLI, IFLYTEK): what TinyBERT distillation buys.

One command runs the whole recipe against honest baselines and writes ``results.{json,md,png}``::

    python benchmarks/quality.py                        # --size default on ../shared/data, ~40 min, 2 threads
    python benchmarks/quality.py --size tiny            # seconds; synthetic data when ../shared/data is absent
    python benchmarks/quality.py --set pretrain_steps=2000 --set general_steps=1000   # any budget
    python benchmarks/quality.py --teacher scratch      # the from-scratch teacher instead of the shared e5

Teacher: the shared pretrained ``models/multilingual-e5-small-zh`` when ``--data`` holds it (its own
SentencePiece tokenizer, the recipe's ``pretrain`` stage off), else a blank BERT pre-trained here.

Stages (folders under ``--work``; see docs/quality.md):
 1. data + vocab   task folders (TNEWS train = train + test_public), corpus cut, trimmed bert-base-chinese vocab
 2. the recipe     ``tinyzh run quality-best`` per task (``WORK/<task>``), with this run's data and budgets as
                   ``--set`` values: pregen, masked-LM pre-training of the teacher (scratch only), fine-tuning, general
                   distillation (first task only; the others reuse its teacher and general student),
                   synonym augmentation (HIT Cilin), task distillation, ``eval --no-train``
 3. baselines      the student's shape fine-tuned on the same augmented sets for as many passes as the
                   student made, from the general-distilled weights and from random weights
 4. speed          batch-1 / batch-32 CPU speed of teacher and student
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import quality_report  # noqa: E402
import quality_stages as stages  # noqa: E402
from quality_setup import TASKS, QualityConfig, missing_data, prepare_data, write_synthetic_data  # noqa: E402

from tinyzh.report import Reporter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
Notify = Callable[[str], None]


class Timer:
    def __init__(self, notify: Notify) -> None:
        self.seconds: dict[str, float] = {}
        self.notify = notify

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        from tinyzh.hf import quiet_transformers

        self.notify(f"[{time.strftime('%H:%M:%S')}] {name} ...")
        start = time.perf_counter()
        with quiet_transformers():
            yield
        self.seconds[name] = round(time.perf_counter() - start, 1)
        self.notify(f"[{time.strftime('%H:%M:%S')}] {name} done in {self.seconds[name]:.0f} s")


class Printer(Reporter):
    """The recipe runner's messages, with the time of day."""

    def __init__(self, notify: Notify) -> None:
        self.notify = notify

    def message(self, text: str) -> None:
        self.notify(f"[{time.strftime('%H:%M:%S')}] {text}")


# recipe stage -> this report's name for its time (``{task}``: the task of a per-task stage)
STAGE_TIMES = {"pregen": "pregen", "pretrain": "teacher-pretrain", "finetune": "teacher-finetune-{task}",
               "distill_general": "distill-general", "augment": "augment-{task}",
               "distill_task": "distill-task-{task}", "eval": "score-{task}"}


def run_quality(config: QualityConfig, results_dir: Path, notify: Notify = print) -> dict[str, Any]:
    """Every stage of the module docstring; writes and returns the report dict."""
    import torch

    from tinyzh.recipe import load_recipe, run_recipe

    torch.set_num_threads(config.threads)
    size, seed, out = config.shape, config.seed, config.output
    _fresh_work_dir(out)
    (out / "quality_config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    timer = Timer(notify)
    with timer("data"):
        data_dir, vocab = prepare_data(config.data, out, size)
    synonyms = config.data / "synonyms" / "cilin_ex.txt"
    pretrained = config.pretrained_teacher
    runs: dict[str, Any] = {}
    first: Path | None = None
    for task in TASKS:  # the first task's run makes the teacher and general student the others reuse
        overrides = stages.recipe_overrides(size, task, data_dir, vocab, synonyms if synonyms.is_file() else None,
                                            out / task, seed, shared=first, pretrained=pretrained)  # fmt: skip
        runs[task] = run_recipe(load_recipe(stages.RECIPE, overrides), Printer(notify))
        first = first or out / task
        for step in runs[task].steps:
            timer.seconds[STAGE_TIMES[step.name].format(task=task)] = round(step.seconds, 1)
    assert first is not None
    with timer("baselines"):
        # same data (the augmented sets) and budget (the student's passes over them), no teacher
        aug_dir = stages.augmented_task_dir(data_dir, {t: out / t / "augment" / "train.json" for t in TASKS},
                                            out / "data-augmented")  # fmt: skip
        blank = stages.random_student(size, vocab, out, seed, first, pretrained)
        baselines = stages.finetune(size, {"baseline_general": first / "student-general", "baseline_random": blank},
                                    aug_dir, out / "baselines", size.student_lr, stages.student_passes(size), seed,
                                    save=False)  # fmt: skip
    with timer("speed"):
        report = _report(config, data_dir, runs, baselines, out)
    report["seconds"] = timer.seconds
    mlm = next((s.summary for s in runs[TASKS[0]].steps if s.name == "pretrain"), None)
    report["teacher_mlm_loss"] = None if mlm is None else round(mlm["loss"], 3)
    report["teacher_label"] = ("teacher (MLM pre-trained, fine-tuned)" if pretrained is None
                               else f"teacher ({pretrained.name}, fine-tuned)")  # fmt: skip
    quality_report.write(report, results_dir)
    return report


def _fresh_work_dir(out: Path) -> None:
    """Empty ``out`` for a new run; only a folder an earlier run made (it holds quality_config.json) is removed."""
    from tinyzh.errors import ConfigError

    if out.exists() and any(out.iterdir()):
        if not (out / "quality_config.json").is_file():
            raise ConfigError(
                f"--work {out} is not empty and not an earlier quality run; choose a new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def _report(
    config: QualityConfig, data_dir: Path, runs: dict[str, Any], baselines: Any, out: Path
) -> dict[str, Any]:
    from tinyzh.evaluate.results import PairResult

    size = config.shape
    tasks: dict[str, Any] = {}
    for task in TASKS:
        dev = data_dir / task / "dev.json"
        dirs = {"teacher": out / task / "finetune" / "teacher" / "models" / task, "student": out / task / "student"}
        pairs = {  # the teacher as fine-tuned (its dev score then), the student as the recipe's eval scored it
            "teacher": PairResult.load(out / task / "finetune" / "teacher" / "pairs" / f"{task}.json"),
            "student": PairResult.load(out / task / "eval" / "student" / "pairs" / f"{task}.json"),
            "baseline_general": baselines["baseline_general", task],
            "baseline_random": baselines["baseline_random", task],
        }
        models = {
            name: {"accuracy": round(p.dev_score, 4), "parameters": p.parameters} for name, p in pairs.items()
        }
        for name, path in dirs.items():
            models[name]["size_bytes"] = stages.disk_bytes(path)
            models[name]["examples_per_s"] = stages.speed(
                path, task, dev, size.max_seq_len, size.speed_examples
            )
        augmented = next(s for s in runs[task].steps if s.name == "augment").summary
        tasks[task] = {
            "n_train": pairs["teacher"].n_train, "n_dev": pairs["teacher"].n_dev,
            "n_train_augmented": augmented["records"], "baseline_passes": stages.student_passes(size)[task],
            "models": models,
            "retention": quality_report.ratio(models["student"]["accuracy"], models["teacher"]["accuracy"]),
            "speedup_batch_1": quality_report.ratio(models["student"]["examples_per_s"]["batch_1"],
                                                    models["teacher"]["examples_per_s"]["batch_1"]),
        }  # fmt: skip
    first = tasks[TASKS[0]]["models"]
    return {
        "config": config.to_dict(), "tasks": tasks, "recipe": stages.RECIPE,
        "parameter_ratio": round(first["student"]["parameters"] / first["teacher"]["parameters"], 4),
        "threads": config.threads, "torch_threads_note": "CPU inference timed in this process, other work may share the cores",
    }  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", help="tiny | default | large (see quality_setup.SIZES)")
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="a folder laid out like ../shared/data (vocab/, corpus/, clue/)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/tinyzh-quality"),
        help="folder for every stage's models and data (replaced)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=ROOT / "benchmarks" / "results" / "quality",
        help="where results.{json,md,png} go",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--teacher",
        default="auto",
        help="auto (the shared multilingual-e5-small-zh when --data holds it, else scratch), scratch "
        "(a BERT pre-trained here by masked LM) or a pretrained checkpoint folder",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="use data built from tinyzh's bundled demo files (automatic for --size tiny "
        "when --data is absent)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one budget of the size, e.g. pretrain_steps=2000 (JSON values)",
    )
    return parser.parse_args(argv)


def _overrides(items: list[str]) -> dict[str, Any]:
    values = {}
    for item in items:
        name, _, raw = item.partition("=")
        try:
            values[name] = json.loads(raw)
        except json.JSONDecodeError:
            values[name] = raw
    return values


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = args.data
    if args.synthetic or (args.size == "tiny" and missing_data(data)):
        data = write_synthetic_data(args.work.with_name(args.work.name + "-synthetic-data"))
    why = missing_data(data)
    if why:
        print(f"skipped: {why} (see ../shared/data/README.md, or run --size tiny --synthetic)")
        return 0
    config = QualityConfig(data=data, output=args.work, size=args.size, seed=args.seed, threads=args.threads,
                           overrides=_overrides(args.set), teacher=args.teacher)  # fmt: skip
    start = time.perf_counter()
    report = run_quality(config, args.results)
    print(quality_report.markdown(report))
    print(f"total {time.perf_counter() - start:.0f} s; results in {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
