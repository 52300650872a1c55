"""``run_demo``: the whole tinyzh pipeline on the bundled data, through the real commands' library calls.

Stages, each writing one folder under ``OUTPUT``::

    data/            the bundled corpus and demo task (cut to the size's limits)
    vocab/           character vocabulary of that data
    pregen/          tinyzh pregen: whole-word-masked instances of the corpus
    teacher-mlm/     a small BERT pre-trained by masked LM on pregen/ (this module's own loop)
    finetune/        tinyzh eval --save-models: the teacher and a blank student fine-tuned on the task
                     (the blank one is the baseline: the student's shape, trained without distillation)
    student-general/ tinyzh distill --stage general from teacher-mlm/
    augment/         tinyzh augment of the training set (synonym + teacher masked-LM)
    student/         tinyzh distill --stage task from the fine-tuned teacher on augment/
    eval/            tinyzh eval --no-train of teacher, student and baseline: the figures of the table
    demo_results.{json,md}

Usage::

    report = run_demo(DemoConfig(output=Path("tinyzh-demo")), reporter)
    report.rows  # teacher, student, baseline
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tinyzh import plugins
from tinyzh.demo.config import DemoConfig, DemoSize
from tinyzh.demo.report import DemoReport, ModelRow, write_report
from tinyzh.demo.task import demo_corpus, demo_task_dir
from tinyzh.errors import ConfigError, PluginError
from tinyzh.io import write_atomic, write_json
from tinyzh.report import Reporter

TASK = "demo-sentiment"
SPLITS = ("train", "dev", "test")


class Stages:
    """Times each stage and tells the caller which one is running."""

    def __init__(self, report: DemoReport, reporter: Reporter) -> None:
        self.report, self.reporter = report, reporter

    @contextmanager
    def __call__(self, name: str, what: str) -> Iterator[None]:
        from tinyzh.hf import quiet_transformers

        self.reporter.message(f"{name}: {what}")
        start = time.perf_counter()
        with quiet_transformers():
            yield
        self.report.seconds[name] = round(time.perf_counter() - start, 2)


def run_demo(config: DemoConfig, reporter: Reporter | None = None) -> DemoReport:
    """Run every stage (see the module docstring) and write ``demo_results.{json,md}``."""
    import torch

    _check_task_plugin()
    if config.threads:
        torch.set_num_threads(config.threads)
    out = _prepare_output(config)
    size, report = config.shape, DemoReport(config)
    reporter = reporter or Reporter()
    stage = Stages(report, reporter)
    with stage("data", "bundled corpus and demo task, vocabulary"):
        data_dir = _copy_data(out / "data", size)
        vocab = _vocab(out, data_dir)
    with stage("pregen", "whole-word-masked pre-training instances"):
        _pregen(config, size, data_dir, vocab, out / "pregen")
    with stage("teacher", f"masked-LM pre-training of the teacher, {size.pretrain_steps} steps"):
        teacher_mlm, loss = _pretrain(config, size, vocab, out, reporter)
    reporter.message(f"teacher: final masked-LM loss {loss:.2f}")
    with stage("finetune", "teacher and no-distillation baseline fine-tuned on the task (tinyzh eval)"):
        teacher_ft, baseline_ft = _finetune(config, size, vocab, teacher_mlm, data_dir, out)
    with stage("distill-general", "general distillation of the student (tinyzh distill --stage general)"):
        _distill_general(config, size, vocab, teacher_mlm, out)
    with stage("augment", f"{size.num_aug} augmented copies per example (tinyzh augment)"):
        augmented = _augment(config, size, teacher_mlm, data_dir, out / "augment" / "train.json")
    with stage("distill-task", "task distillation (tinyzh distill --stage task)"):
        _distill_task(config, size, teacher_ft, augmented, data_dir, out)
    with stage("eval", "teacher, student and baseline on the dev set (tinyzh eval --no-train)"):
        models = {"teacher": teacher_ft, "student": out / "student", "baseline": baseline_ft}
        report.rows = _evaluate(config, models, data_dir, out / "eval")
    write_report(report, out)
    return report


def _check_task_plugin() -> None:
    if TASK not in plugins.registry("tasks").names():
        raise PluginError(
            f"the demo task plugin {TASK!r} is not registered; reinstall tinyzh (pip install -e .) "
            "so that its entry points are up to date"
        )


def _prepare_output(config: DemoConfig) -> Path:
    out = config.output
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output {out} is a file; give a folder")
    if out.exists() and any(out.iterdir()):
        if not (out / "demo_config.json").is_file():
            raise ConfigError(f"--output {out} exists and is not a demo output; choose a new folder")
        if not config.overwrite:
            raise ConfigError(f"--output {out} holds an earlier demo; pass --overwrite to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "demo_config.json", config.to_dict())
    return out


def _copy_data(data_dir: Path, size: DemoSize) -> Path:
    """``data_dir/demo_corpus.txt`` and ``data_dir/demo_task/*.json``, cut to the size's limits."""
    documents = demo_corpus().read_text(encoding="utf-8").strip("\n").split("\n\n")
    (data_dir / "demo_task").mkdir(parents=True, exist_ok=True)
    write_atomic(data_dir / "demo_corpus.txt", "\n\n".join(documents[: size.max_documents]) + "\n")
    limits = {"train": size.max_train, "dev": size.max_dev, "test": size.max_dev}
    for split in SPLITS:
        lines = (demo_task_dir() / f"{split}.json").read_text(encoding="utf-8").splitlines(keepends=True)
        write_atomic(data_dir / "demo_task" / f"{split}.json", "".join(lines[: limits[split]]))
    return data_dir


def _vocab(out: Path, data_dir: Path) -> Path:
    from tinyzh.demo.teacher import write_vocab

    sources = [data_dir / "demo_corpus.txt", *(data_dir / "demo_task" / f"{s}.json" for s in SPLITS)]
    return write_vocab(out / "vocab", sources)


def _pregen(config: DemoConfig, size: DemoSize, data_dir: Path, vocab: Path, output: Path) -> None:
    from tinyzh.pregen import PregenConfig, run_pregen

    run_pregen(
        PregenConfig(
            corpus=[data_dir / "demo_corpus.txt"],
            output=output,
            tokenizer=str(vocab),
            max_seq_len=size.pregen_seq_len,
            epochs=size.pregen_epochs,
            seed=config.seed,
            workers=1,
        )
    )


def _pretrain(
    config: DemoConfig, size: DemoSize, vocab: Path, out: Path, reporter: Reporter
) -> tuple[Path, float]:
    from tinyzh.demo.teacher import pretrain_teacher, save_blank

    teacher = save_blank(out / "teacher-mlm", vocab, size.teacher, size.max_seq_len, config.seed)
    steps, lr, every = size.pretrain_steps, size.pretrain_lr, max(1, size.pretrain_steps // 5)

    def tick(step: int, loss: float) -> None:
        reporter.metrics("teacher-mlm", step, {"loss": loss})
        if step % every == 0 and step < steps:
            reporter.message(f"teacher: step {step}/{steps}, masked-LM loss {loss:.2f}")

    loss = pretrain_teacher(out / "pregen", teacher, steps, lr, size.batch_size, config.seed, tick)
    return teacher, loss


def _finetune(
    config: DemoConfig, size: DemoSize, vocab: Path, teacher_mlm: Path, data_dir: Path, out: Path
) -> tuple[Path, Path]:
    """Fine-tune the teacher and the baseline (a blank student) with ``tinyzh eval --save-models``."""
    from tinyzh.demo.teacher import save_blank
    from tinyzh.evaluate.config import EvalConfig, ModelSpec
    from tinyzh.evaluate.runner import run_eval

    blank = save_blank(out / "baseline-init", vocab, size.student, size.max_seq_len, config.seed + 1)
    models = [ModelSpec("teacher", str(teacher_mlm)), ModelSpec("baseline", str(blank))]
    eval_config = EvalConfig(
        models=models, tasks=[TASK], data_dir=data_dir, output=out / "finetune", epochs=size.finetune_epochs,
        lr=size.finetune_lr, batch_size=16, max_seq_len=size.max_seq_len, save_models=True, seed=config.seed,
    )  # fmt: skip
    run_eval(eval_config)
    teacher_ft, baseline_ft = (out / "finetune" / m.name / "models" / TASK for m in models)
    return teacher_ft, baseline_ft


def _distill_general(config: DemoConfig, size: DemoSize, vocab: Path, teacher_mlm: Path, out: Path) -> None:
    from tinyzh.demo.teacher import write_student_config
    from tinyzh.distill import DistillConfig, run_distill
    from tinyzh.hf import load_hf_tokenizer

    vocab_size = len(load_hf_tokenizer(str(vocab)))
    student = write_student_config(out / "student-config.json", size.student, vocab_size, size.max_seq_len)
    run_distill(
        DistillConfig(
            stage="general",
            data=str(out / "pregen"),
            output=str(out / "student-general"),
            teacher=str(teacher_mlm),
            student=str(student),
            max_steps=size.general_steps,
            batch_size=size.batch_size,
            lr=5e-4,
            seed=config.seed,
            workers=0,
        )  # fmt: skip
    )


def _augment(config: DemoConfig, size: DemoSize, teacher_mlm: Path, data_dir: Path, output: Path) -> Path:
    from tinyzh.augment.config import AugmentConfig
    from tinyzh.augment.runner import run_augment

    output.parent.mkdir(parents=True, exist_ok=True)
    run_augment(
        AugmentConfig(
            task=TASK,
            input=data_dir / "demo_task" / "train.json",
            output=output,
            augmenters=size.augmenters,
            num_aug=size.num_aug,
            teacher=str(teacher_mlm),
            seed=config.seed,
            workers=1,
        )  # fmt: skip
    )
    return output


def _distill_task(
    config: DemoConfig, size: DemoSize, teacher_ft: Path, augmented: Path, data_dir: Path, out: Path
) -> None:
    from tinyzh.distill import DistillConfig, run_distill

    run_distill(
        DistillConfig(
            stage="task",
            task=TASK,
            data=str(augmented),
            dev=str(data_dir / "demo_task" / "dev.json"),
            output=str(out / "student"),
            teacher=str(teacher_ft),
            student=str(out / "student-general"),
            epochs=size.task_epochs,
            batch_size=size.batch_size,
            max_seq_len=size.max_seq_len,
            lr=2e-4,
            seed=config.seed,
            workers=0,
        )  # fmt: skip
    )


DESCRIPTIONS = {
    "teacher": "teacher: pre-trained (masked LM) + fine-tuned",
    "student": "student: general + task distillation (TinyBERT)",
    "baseline": "baseline: student shape, fine-tuned without distillation",
}


def _evaluate(config: DemoConfig, models: dict[str, Path], data_dir: Path, output: Path) -> list[ModelRow]:
    from tinyzh.evaluate.config import EvalConfig, ModelSpec
    from tinyzh.evaluate.runner import run_eval

    specs = [ModelSpec(name, str(path)) for name, path in models.items()]
    summary = run_eval(
        EvalConfig(
            models=specs, tasks=[TASK], data_dir=data_dir, output=output, no_train=True, seed=config.seed
        )
    )
    rows = []
    for name, path in models.items():
        result = summary.get(name, TASK)
        assert result is not None  # run_eval returns a result for every pair or raises
        size_bytes = sum(p.stat().st_size for p in path.glob("*.safetensors"))
        rows.append(ModelRow(name, DESCRIPTIONS[name], str(path), result.parameters, size_bytes,
                             result.examples_per_s, result.dev_score))  # fmt: skip
    return rows
