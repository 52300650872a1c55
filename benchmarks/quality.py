"""Compression quality on real Chinese tasks (TNEWS, OCNLI, IFLYTEK): what TinyBERT distillation buys.

One command runs the whole recipe against honest baselines and writes ``results.{json,md,png}``::

    python benchmarks/quality.py                        # --size default on ../shared/data, ~40 min, 2 threads
    python benchmarks/quality.py --size tiny            # seconds; synthetic data when ../shared/data is absent
    python benchmarks/quality.py --set pretrain_steps=2000 --set general_steps=1000   # any budget
    python benchmarks/quality.py --teacher scratch      # the from-scratch teacher instead of the shared e5
    python benchmarks/quality.py --tasks tnews,ocnli    # a subset of the tasks
    python benchmarks/quality.py --reuse RUN --set init_from_teacher=true   # RUN's fine-tuned teachers, no fine-tuning
    python benchmarks/quality.py --reuse RUN --only baselines --seed 1      # the baselines again, another seed

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

``--reuse RUN`` (quality_reuse.py) takes RUN's fine-tuned teachers instead of stage 2's fine-tuning (and
with ``--only baselines`` its augmented sets and general student); the report's ``reused`` says what and
from where. ``quality_seeds.py`` summarises several seeds' results.json.
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
from quality_reuse import Reused, load_reused, run_tasks  # noqa: E402
from quality_setup import (  # noqa: E402
    ONLY,
    TASKS,
    UNLABELED,
    QualityConfig,
    QualitySize,
    missing_data,
    prepare_data,
    write_synthetic_data,
)

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


def run_quality(config: QualityConfig, results_dir: Path, notify: Notify = print, resume: bool = False) -> dict[str, Any]:
    """Every stage of the module docstring (those ``config.only`` picks); writes and returns the report dict.

    ``resume``: keep ``config.output`` (an earlier run of the same settings) and let each task's recipe
    skip the stages it finished; the baselines and the speed test run again."""
    import torch

    torch.set_num_threads(config.threads)
    reused = load_reused(config) if config.reuse else None  # refused before the work folder is touched
    size, out = config.shape, config.output
    if resume:
        _check_resumable(config)
    else:
        _fresh_work_dir(out)
    (out / "quality_config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    timer = Timer(notify)
    with timer("data"):
        data_dir, vocab = prepare_data(config.data, out, size, config.tasks)
    runs: dict[str, Any] = {}
    if config.only != "baselines":
        runs = _run_recipes(config, data_dir, vocab, reused, timer, notify)
    baselines: dict[tuple[str, str], Any] = {}
    if config.only != "recipe":
        with timer("baselines"):
            baselines = _baselines(config, data_dir, vocab, reused)
    with timer("speed"):
        report = _report(config, data_dir, runs, baselines, reused)
    report["seconds"] = timer.seconds
    mlm = next((s.summary for r in runs.values() for s in r.steps if s.name == "pretrain"), None)
    report["teacher_mlm_loss"] = (round(mlm["loss"], 3) if mlm else
                                  reused.mlm_loss() if reused and config.pretrained_teacher is None else None)
    report["teacher_label"] = ("teacher (MLM pre-trained, fine-tuned)" if config.pretrained_teacher is None
                               else f"teacher ({config.pretrained_teacher.name}, fine-tuned)")  # fmt: skip
    quality_report.write(report, results_dir)
    return report


def _run_recipes(config: QualityConfig, data_dir: Path, vocab: Path, reused: Reused | None, timer: Timer,
                 notify: Notify) -> dict[str, Any]:
    """``quality-best`` per task; the first task's run makes the teacher and general student the others reuse."""
    from tinyzh.recipe import load_recipe, run_recipe

    synonyms = config.data / "synonyms" / "cilin_ex.txt"
    runs: dict[str, Any] = {}
    first: Path | None = None
    for task in config.tasks:
        overrides = stages.recipe_overrides(config.shape, task, data_dir, vocab, synonyms if synonyms.is_file() else None,
                                            config.output / task, config.seed, shared=first,
                                            pretrained=config.pretrained_teacher, reused=reused)  # fmt: skip
        runs[task] = run_recipe(load_recipe(stages.RECIPE, overrides), Printer(notify))
        first = first or config.output / task
        done = _stage_seconds(config.output / task)
        for step in runs[task].steps:  # a stage skipped on --resume keeps the time it took when it ran
            seconds = done.get(step.name, 0.0) if step.action == "skip" else step.seconds
            timer.seconds[STAGE_TIMES[step.name].format(task=task)] = round(seconds, 1)
    return runs


def _baselines(config: QualityConfig, data_dir: Path, vocab: Path, reused: Reused | None) -> dict[tuple[str, str], Any]:
    """The student's shape fine-tuned without a teacher on the same augmented sets, for the student's passes:
    from the general student and from random weights (this run's, or with ``--only baselines`` the reused run's)."""
    size, out = config.shape, config.output
    first, augmented = _student_sources(config, reused)
    aug_dir = stages.augmented_task_dir(data_dir, augmented, out / "data-augmented")
    blank = stages.random_student(size, vocab, out, config.seed, first, config.pretrained_teacher)
    sources = {"general": first / "student-general", "random": blank}
    models = {f"baseline_{name}": sources[name] for name in config.baselines}
    return stages.finetune(size, models, aug_dir, out / "baselines", size.student_lr,
                           stages.student_passes(size, config.tasks), config.seed, save=False)  # fmt: skip


def _student_sources(config: QualityConfig, reused: Reused | None) -> tuple[Path, dict[str, Path]]:
    """The folder of the first task's recipe run (general student, student config) and each task's
    augmented set: this run's, or the reused run's with ``--only baselines``."""
    if reused is not None and reused.baselines:
        return reused.general_first, {t: reused.augmented(t) for t in config.tasks}
    out = config.output
    return out / config.tasks[0], {t: out / t / "augment" / "train.json" for t in config.tasks}


def _stage_seconds(run: Path) -> dict[str, float]:
    """Each finished stage's seconds, from the recipe runner's state file of ``run``."""
    from tinyzh.recipe.runner import read_state

    return {name: float(entry.get("seconds", 0.0)) for name, entry in read_state(run).items()
            if isinstance(entry, dict)}  # fmt: skip


RESUME_KEYS = ("data", "size", "seed", "teacher", "settings")  # what must match for --resume


def _check_resumable(config: QualityConfig) -> None:
    """``--resume`` continues only a run of the same data, teacher, size settings and seed."""
    from tinyzh.errors import ConfigError

    saved = config.output / "quality_config.json"
    if not saved.is_file():
        raise ConfigError(f"--resume: {saved} is missing; --work must be an earlier quality run's folder")
    before, now = json.loads(saved.read_text(encoding="utf-8")), config.to_dict()
    changed = [key for key in RESUME_KEYS if _same(key, before.get(key)) != _same(key, now[key])]
    if changed:
        raise ConfigError(f"--resume: {saved} differs in {', '.join(changed)}; resume with the same settings, "
                          "or start a new --work folder")


def _same(key: str, value: Any) -> Any:
    """A path setting resolved, so a relative and an absolute spelling of one folder compare equal."""
    return str(Path(value).resolve()) if key in ("data", "teacher") and value not in (None, "scratch") else value


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


def _report(config: QualityConfig, data_dir: Path, runs: dict[str, Any], baselines: dict[tuple[str, str], Any],
            reused: Reused | None) -> dict[str, Any]:
    from tinyzh import plugins
    from tinyzh.evaluate.results import PairResult
    from tinyzh.tasks.data import load_split

    size, out = config.shape, config.output
    augmented = _student_sources(config, reused)[1]
    tasks: dict[str, Any] = {}
    for task in config.tasks:
        dev = data_dir / task / "dev.json"
        dirs, pairs = {}, {}
        if runs:  # the teacher as fine-tuned (its dev score then), the student as the recipe's eval scored it
            dirs["teacher"] = reused.task_teacher(task) if reused else out / task / "finetune" / "teacher" / "models" / task
            dirs["student"] = out / task / "student"
            pairs["teacher"] = PairResult.load(reused.teacher_pairs(task) if reused else
                                               out / task / "finetune" / "teacher" / "pairs" / f"{task}.json")
            pairs["student"] = PairResult.load(out / task / "eval" / "student" / "pairs" / f"{task}.json")
        pairs |= {name: baselines[name, task] for name in ("baseline_general", "baseline_random")
                  if (name, task) in baselines}
        models = {name: {"accuracy": round(p.dev_score, 4), "parameters": p.parameters} for name, p in pairs.items()}
        if reused and runs:  # the recipe's eval scored the reused teacher again: the same model, the same score
            rescored = PairResult.load(out / task / "eval" / "teacher" / "pairs" / f"{task}.json")
            models["teacher"]["rescored_accuracy"] = round(rescored.dev_score, 4)
        for name, path in dirs.items():
            models[name]["size_bytes"] = stages.disk_bytes(path)
            models[name]["examples_per_s"] = stages.speed(path, task, dev, size.max_seq_len, size.speed_examples)
        teacher = models.get("teacher", {}).get("accuracy")
        plugin = plugins.get_task(task)
        tasks[task] = {
            "n_train": len(load_split(data_dir / task / "train.json", plugin, "train")),
            "n_dev": len(load_split(dev, plugin, "dev")), "n_train_augmented": _rows(augmented[task]),
            "baseline_passes": stages.student_passes(size)[task], "models": models,
            "n_unlabeled": _unlabeled_rows(size, data_dir / task, out / task) if runs else 0,
            "retention": quality_report.ratio(models["student"]["accuracy"], teacher) if runs else None,
            "speedup_batch_1": quality_report.ratio(models["student"]["examples_per_s"]["batch_1"],
                                                    models["teacher"]["examples_per_s"]["batch_1"]) if runs else None,
        }  # fmt: skip
    first = tasks[config.tasks[0]]["models"]
    return {
        "config": config.to_dict(), "tasks": tasks, "recipe": stages.RECIPE, "only": config.only,
        "reused": reused.to_dict() if reused else None,
        "parameter_ratio": round(first["student"]["parameters"] / first["teacher"]["parameters"], 4) if runs else None,
        "threads": config.threads, "torch_threads_note": "CPU inference timed in this process, other work may share the cores",
    }  # fmt: skip


def _unlabeled_rows(size: QualitySize, task_data: Path, task_run: Path) -> int:
    """Rows without a label the student's task distillation saw: the task's, or with augment_unlabeled
    theirs and their copies."""
    if not size.unlabeled:
        return 0
    return _rows(task_run / "augment" / UNLABELED if size.augment_unlabeled else task_data / UNLABELED)


def _rows(path: Path) -> int:
    """Records of a JSON-lines file (an augmented training set)."""
    with path.open(encoding="utf-8") as lines:
        return sum(1 for line in lines if line.strip())


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
        "--resume",
        action="store_true",
        help="continue the run in --work (same settings): finished recipe stages are skipped, the baselines "
        "and the speed test run again",
    )
    parser.add_argument(
        "--teacher",
        default="auto",
        help="auto (the shared multilingual-e5-small-zh when --data holds it, else scratch), scratch "
        "(a BERT pre-trained here by masked LM) or a pretrained checkpoint folder",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--tasks", help=f"a comma-separated subset of {','.join(TASKS)} (default: all, or with "
                        "--reuse the tasks of that run)")
    parser.add_argument(
        "--reuse",
        type=Path,
        metavar="RUN_DIR",
        help="take the fine-tuned teachers (and their dev scores) of an earlier run's --work folder of the same "
        "teacher, data and size settings instead of fine-tuning again (see quality_reuse.py)",
    )
    parser.add_argument(
        "--only",
        default="all",
        choices=ONLY,
        help="recipe: teacher and student without the baselines; baselines: the baselines alone, on the "
        "--reuse run's augmented sets and general student (another seed of them)",
    )
    parser.add_argument(
        "--baselines",
        default="general,random",
        help="which no-teacher baselines run: a comma-separated subset of general (the general-distilled "
        "student fine-tuned) and random (random weights fine-tuned)",
    )
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


def _tasks(option: str | None, reuse: Path | None) -> tuple[str, ...]:
    if option is not None:
        return tuple(t.strip() for t in option.split(",") if t.strip())
    return run_tasks(reuse) if reuse else TASKS


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
                           overrides=_overrides(args.set), teacher=args.teacher, reuse=args.reuse, only=args.only,
                           tasks=_tasks(args.tasks, args.reuse),
                           baselines=tuple(b.strip() for b in args.baselines.split(",") if b.strip()))  # fmt: skip
    start = time.perf_counter()
    report = run_quality(config, args.results, resume=args.resume)
    print(quality_report.markdown(report))
    print(f"total {time.perf_counter() - start:.0f} s; results in {args.results}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    """``main`` with a user error as one line on stderr and exit status 1, as the tinyzh CLI does."""
    from tinyzh.errors import TinyzhError

    try:
        return main(argv)
    except TinyzhError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(cli())
