"""Compression quality on real Chinese tasks (TNEWS, OCNLI, IFLYTEK): what TinyBERT distillation buys.

One command runs the whole recipe against honest baselines and writes ``results.{json,md,png}``::

    python benchmarks/quality.py                        # --size default on ../shared/data, ~40 min, 2 threads
    python benchmarks/quality.py --size tiny            # seconds; synthetic data when ../shared/data is absent
    python benchmarks/quality.py --set pretrain_steps=2000 --set general_steps=1000   # any budget
    python benchmarks/quality.py --teacher scratch      # the from-scratch teacher instead of the shared e5

Teacher: the shared pretrained ``models/multilingual-e5-small-zh`` when ``--data`` holds it (its own
SentencePiece vocabulary, no pre-training stage), else a blank BERT pre-trained here (stage 3).

Stages (folders under ``--work``; see docs/quality.md):
 1. data + vocab   task folders (TNEWS train = train + test_public), corpus cut, trimmed bert-base-chinese vocab
 2. pregen         whole-word-masked instances of the corpus (``tinyzh pregen``)
 3. teacher        (scratch teacher only) MLM pre-training of a blank BERT on pregen (the demo's loop);
                   then ``tinyzh eval --save-models`` fine-tuning on the three tasks
 4. general        ``distill --stage general`` of the student from the MLM teacher
 5. augment        synonym augmentation (HIT Cilin) of each training set (``tinyzh augment``)
 6. task distill   ``distill --stage task --step both`` per task from the fine-tuned teacher
 7. baselines      the student's shape fine-tuned on the same augmented sets for as many passes as the
                   student made, from the general-distilled weights and from random weights
 8. score + speed  ``tinyzh eval --no-train`` of the students; batch-1 / batch-32 CPU speed
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


def run_quality(config: QualityConfig, results_dir: Path, notify: Notify = print) -> dict[str, Any]:
    """Every stage of the module docstring; writes and returns the report dict."""
    import torch

    torch.set_num_threads(config.threads)
    size, seed, out = config.shape, config.seed, config.output
    _fresh_work_dir(out)
    (out / "quality_config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    timer = Timer(notify)
    pretrained = config.pretrained_teacher
    with timer("data"):
        data_dir, vocab = prepare_data(config.data, out, size)
    tokenizer = vocab if pretrained is None else pretrained  # a pretrained teacher keeps its own vocabulary
    with timer("pregen"):
        stages.pregen(size, data_dir / "corpus.txt", tokenizer, out / "pregen", seed)
    mlm_loss = None
    if pretrained is None:
        with timer("teacher-pretrain"):
            teacher_mlm, mlm_loss = stages.pretrain(size, vocab, out, seed)
        notify(f"teacher masked-LM loss at the end: {mlm_loss:.2f}")
    else:
        teacher_mlm = pretrained
    lr, epochs = ((size.teacher_lr, size.finetune_epochs) if pretrained is None
                  else (size.pretrained_teacher_lr, size.pretrained_finetune_epochs))  # fmt: skip
    with timer("teacher-finetune"):
        teacher = stages.finetune(size, {"teacher": teacher_mlm}, data_dir, out / "finetune", lr, epochs, seed,
                                  save=True)  # fmt: skip
    student_config = stages.student_config(size, vocab, out, pretrained)
    pairs = stages.layer_map(*_depths(size, pretrained))
    with timer("distill-general"):
        general = stages.distill_general(size, student_config, teacher_mlm, out, seed, pairs)
    teacher_dirs = {task: out / "finetune" / "teacher" / "models" / task for task in TASKS}
    synonyms = config.data / "synonyms" / "cilin_ex.txt"
    augmented: dict[str, Any] = {}
    for task in TASKS:
        with timer(f"augment-{task}"):
            augmented[task] = stages.augment(size, task, teacher_mlm, data_dir, synonyms if synonyms.is_file() else None,
                                             out / "augment" / f"{task}.json", seed).stats  # fmt: skip
        with timer(f"distill-task-{task}"):
            stages.distill_task(size, task, teacher_dirs[task], general, out / "augment" / f"{task}.json",
                                out / "student" / task, seed, pairs)  # fmt: skip
    with timer("baselines"):
        # same data (the augmented sets) and budget (the student's passes over them), no teacher
        aug_dir = stages.augmented_task_dir(data_dir, {t: out / "augment" / f"{t}.json" for t in TASKS},
                                            out / "data-augmented")  # fmt: skip
        blank = stages.random_student(student_config, tokenizer, out, seed)
        baselines = stages.finetune(size, {"baseline_general": general, "baseline_random": blank}, aug_dir,
                                    out / "baselines", size.student_lr, stages.student_passes(size), seed,
                                    save=False)  # fmt: skip
    with timer("score-and-speed"):
        students = stages.score({"student": out / "student"}, data_dir, out / "scores", size, seed)
        report = _report(config, data_dir, teacher, baselines, students, teacher_dirs, out, augmented)
    report["seconds"] = timer.seconds
    report["teacher_mlm_loss"] = None if mlm_loss is None else round(mlm_loss, 3)
    report["teacher_label"] = (f"teacher ({pretrained.name}, fine-tuned)" if pretrained is not None
                               else "teacher (MLM pre-trained, fine-tuned)")  # fmt: skip
    quality_report.write(report, results_dir)
    return report


def _depths(size: Any, pretrained: Path | None) -> tuple[int, int]:
    """(teacher layers, student layers) of the layer map."""
    if pretrained is None:
        return size.teacher.layers, size.student.layers
    teacher = json.loads((pretrained / "config.json").read_text(encoding="utf-8"))
    return int(teacher["num_hidden_layers"]), size.pretrained_student.layers


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
    config: QualityConfig,
    data_dir: Path,
    teacher: Any,
    baselines: Any,
    students: Any,
    teacher_dirs: dict[str, Path],
    out: Path,
    augmented: dict[str, Any],
) -> dict[str, Any]:
    size = config.shape
    tasks: dict[str, Any] = {}
    found = {**teacher, **baselines, **students}
    for task in TASKS:
        dev = data_dir / task / "dev.json"
        dirs = {"teacher": teacher_dirs[task], "student": out / "student" / task}
        pairs = {
            name: found[name, task] for name in ("teacher", "student", "baseline_general", "baseline_random")
        }
        models = {
            name: {"accuracy": round(p.dev_score, 4), "parameters": p.parameters} for name, p in pairs.items()
        }
        for name, path in dirs.items():
            models[name]["size_bytes"] = stages.disk_bytes(path)
            models[name]["examples_per_s"] = stages.speed(
                path, task, dev, size.max_seq_len, size.speed_examples
            )
        stats = augmented[task]
        tasks[task] = {
            "n_train": pairs["teacher"].n_train, "n_dev": pairs["teacher"].n_dev,
            "n_train_augmented": stats.records_out, "baseline_passes": stages.student_passes(size)[task], "models": models,
            "retention": quality_report.ratio(models["student"]["accuracy"], models["teacher"]["accuracy"]),
        }  # fmt: skip
    first = tasks[TASKS[0]]["models"]
    return {
        "config": config.to_dict(), "tasks": tasks,
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
        "(a BERT pre-trained here by masked LM) or a checkpoint folder",
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
