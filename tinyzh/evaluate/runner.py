"""``tinyzh eval`` as a library call: every model x task, resumable, with submissions and a summary.

Output layout (``OUTPUT`` = ``config.output``)::

    OUTPUT/eval_config.json                 the EvalConfig of the last run
    OUTPUT/results.{json,csv,png}           summary over all models and tasks
    OUTPUT/<model>/pairs/<task>.json        one PairResult per finished pair (resume marker)
    OUTPUT/<model>/submission/<task's submission_file>
    OUTPUT/<model>/submission.zip           the submission files of this run's pairs, flat
    OUTPUT/<model>/models/<task>/           fine-tuned checkpoint (--save-models)

Usage::

    summary = run_eval(EvalConfig(models=[ModelSpec.parse("ckpt/")], tasks=["tnews"], data_dir="clue"))
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyzh import plugins
from tinyzh.errors import InputError
from tinyzh.evaluate.config import EvalConfig, ModelSpec
from tinyzh.evaluate.finetune import (
    count_parameters,
    fine_tune,
    load_classifier,
    predict,
    total_steps,
)
from tinyzh.evaluate.inputs import check_inputs
from tinyzh.evaluate.metrics import get_metric
from tinyzh.evaluate.results import PairResult, Summary, write_chart, write_csv, write_summary_json
from tinyzh.evaluate.submission import write_submission, zip_submissions
from tinyzh.hf import quiet_transformers
from tinyzh.io import remove_temp_files, write_json
from tinyzh.lock import output_lock
from tinyzh.protocols import Task, TaskExample
from tinyzh.report import Reporter, ticker
from tinyzh.tasks.data import find_task_dir, load_split


@dataclass
class PairPaths:
    result: Path
    submission_dir: Path
    saved_model: Path

    @classmethod
    def of(cls, output: Path, model: ModelSpec, task: Task) -> PairPaths:
        root = output / model.name
        return cls(root / "pairs" / f"{task.name}.json", root / "submission", root / "models" / task.name)


def run_eval(config: EvalConfig, reporter: Reporter | None = None) -> Summary:
    """Run (or resume) every (model, task) pair and write the summary files; returns the summary.

    Warnings and skipped pairs go to ``reporter`` as messages, each loop as progress, and every pair's
    training loss and dev score as metrics of the group ``eval/<model>``."""
    with output_lock(config.output, "eval"), _torch_threads(config.threads):
        return _run_all(config, reporter or Reporter())


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _run_all(config: EvalConfig, reporter: Reporter) -> Summary:
    tasks = [plugins.get_task(name) for name in config.tasks]
    task_dirs = {task.name: find_task_dir(config.data_dir, task) for task in tasks}  # fail before any training
    for task in tasks:
        _check_files(config, task_dirs[task.name])
    input_warnings = check_inputs(config, tasks, task_dirs)  # every file of every task, before any step
    for message in (m for messages in input_warnings.values() for m in messages):
        reporter.message(message)
    config.output.mkdir(parents=True, exist_ok=True)
    remove_temp_files(config.output)  # left by a killed run; the lock is held
    write_json(config.output / "eval_config.json", config.to_dict())
    results = []
    for model in config.models:
        pairs = [run_pair(config, model, task, task_dirs[task.name], reporter,
                          input_warnings[task.name]) for task in tasks]
        results += pairs
        submission_dir = config.output / model.name / "submission"
        written = [submission_dir / r.submission for r in pairs if r.submission]
        if written:  # the files these pairs wrote, whatever their names (a plugin's need not end _predict.json)
            zip_submissions(written, config.output / model.name / "submission.zip")
    summary = Summary([m.name for m in config.models], [t.name for t in tasks], results)
    write_summary_json(summary, config.output / "results.json")
    write_csv(summary, config.output / "results.csv")
    write_chart(summary, config.output / "results.png")
    return summary


def _check_files(config: EvalConfig, task_dir: Path) -> None:
    needed = [config.dev_file] if config.no_train else [config.train_file, config.dev_file]
    for name in needed:
        if not (task_dir / name).is_file():
            raise InputError(
                f"file not found; the task folder needs {' and '.join(needed)} ({config.test_file} is optional; "
                "other names with --train-file / --dev-file / --test-file)",
                task_dir / name,
            )


def _model_path(config: EvalConfig, model: ModelSpec, task: Task) -> str:
    """With --no-train, ``PATH/<task>/`` (as --save-models writes) wins over ``PATH`` itself."""
    per_task = Path(model.path) / task.name
    if config.no_train and (per_task / "config.json").is_file():
        return str(per_task)
    return model.path


def _resolved(path: str) -> str:
    """A local directory as an absolute path (so moving the cwd is no change); a hub name as given."""
    return str(Path(path).resolve()) if Path(path).exists() else path


def _is_finished(config: EvalConfig, paths: PairPaths, settings: dict[str, Any]) -> PairResult | None:
    if config.force:
        return None
    done = PairResult.load(paths.result)
    if done is None or done.settings != settings:
        return None
    if config.save_models and not (paths.saved_model / "config.json").is_file():
        return None
    return done


def run_pair(
    config: EvalConfig,
    model_spec: ModelSpec,
    task: Task,
    task_dir: Path,
    reporter: Reporter | None = None,
    input_warnings: list[str] | None = None,
) -> PairResult:
    """Fine-tune (unless --no-train), score dev, predict test for one model on one task.

    ``input_warnings`` (from ``check_inputs``) are kept in the result's warnings.
    """
    import torch

    from tinyzh.hf import load_hf_tokenizer

    reporter = reporter or Reporter()
    paths = PairPaths.of(config.output, model_spec, task)
    max_len = config.max_seq_len or task.max_seq_len
    settings = {**config.pair_settings(task.name, max_len), "model_path": _resolved(model_spec.path)}
    done = _is_finished(config, paths, settings)
    if done is not None:
        reporter.message(f"{model_spec.name} / {task.name}: finished earlier, skipped (--force reruns it)")
        return done
    label = f"{model_spec.name} / {task.name}"
    path = _model_path(config, model_spec, task)
    tokenizer = load_hf_tokenizer(path)
    torch.manual_seed(config.seed)  # the new head's initialisation and dropout depend on the seed only
    model = load_classifier(path, task, trained=config.no_train)
    warnings: list[str] = list(input_warnings or [])
    max_len = _fit_length(model, max_len, label, warnings, reporter)
    result = PairResult(model=model_spec.name, task=task.name, metric=task.metric, dev_score=0.0, n_dev=0,
                        parameters=count_parameters(model), examples_per_s=0.0, settings=settings, warnings=warnings)
    if not config.no_train:
        _train(config, model, tokenizer, task, task_dir, max_len, result, reporter)
    _score_dev(config, model, tokenizer, task, task_dir, max_len, result, reporter)
    _predict_test(config, model, tokenizer, task, task_dir, max_len, paths, result, reporter)
    if config.save_models:
        _save_model(model, tokenizer, paths.saved_model, result)
    result.save(paths.result)
    scores = {f"{task.name}/dev_{task.metric}": result.dev_score, f"{task.name}/examples_per_s": result.examples_per_s}
    if result.train_loss is not None:
        scores[f"{task.name}/train_loss"] = result.train_loss
    reporter.metrics(f"eval/{model_spec.name}", result.train_steps, scores)
    return result


def _fit_length(model: Any, max_len: int, label: str, warnings: list[str], reporter: Reporter) -> int:
    limit = int(getattr(model.config, "max_position_embeddings", max_len))
    if max_len <= limit:
        return max_len
    message = f"{label}: max length {max_len} exceeds the model's {limit} positions; using {limit}"
    warnings.append(message)
    reporter.message(message)
    return limit


def _encode(tokenizer: Any, task: Task, examples: list[TaskExample], max_len: int) -> dict[str, Any]:
    from tinyzh.tasks.features import encode_examples

    return encode_examples(tokenizer, task, examples, max_len)


def _read(task: Task, path: Path, split: str, limit: int | None, result: PairResult) -> list[TaskExample]:
    examples = load_split(path, task, split, limit)
    dropped = getattr(task, "skipped", {}).get(split, 0)
    if dropped:
        result.skipped_rows[split] = dropped
    return examples


def _train(config: EvalConfig, model: Any, tokenizer: Any, task: Task, task_dir: Path, max_len: int,
           result: PairResult, reporter: Reporter) -> None:
    path = task_dir / config.train_file
    examples = _read(task, path, "train", config.max_train_examples, result)
    if not examples:
        raise InputError(f"no labelled {task.name} training examples", path)
    features = _encode(tokenizer, task, examples, max_len)
    steps = total_steps(len(examples), config.batch_size, config.epochs)
    tick = ticker(reporter, f"{result.model} / {task.name}: fine-tune", steps)
    stats = fine_tune(model, features, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                      warmup_ratio=config.warmup_ratio, weight_decay=config.weight_decay, seed=config.seed, tick=tick)
    result.n_train, result.train_steps, result.train_seconds = len(examples), stats.steps, round(stats.seconds, 3)
    result.train_loss = stats.final_loss
    result.train_examples_per_s = round(stats.examples / stats.seconds, 2) if stats.seconds > 0 else 0.0


def _score_dev(config: EvalConfig, model: Any, tokenizer: Any, task: Task, task_dir: Path, max_len: int,
               result: PairResult, reporter: Reporter) -> None:
    path = task_dir / config.dev_file
    examples = _read(task, path, "dev", config.max_dev_examples, result)
    if not examples:
        raise InputError(f"no labelled {task.name} dev examples", path)
    tick = ticker(reporter, f"{result.model} / {task.name}: dev", len(examples))
    predictions = predict(model, _encode(tokenizer, task, examples, max_len), config.eval_batch_size, tick)
    gold = [ex.label for ex in examples]
    result.dev_score = get_metric(task.metric)(gold, predictions.labels)
    result.n_dev, result.examples_per_s = len(examples), round(predictions.examples_per_s, 2)


def _predict_test(config: EvalConfig, model: Any, tokenizer: Any, task: Task, task_dir: Path, max_len: int,
                  paths: PairPaths, result: PairResult, reporter: Reporter) -> None:
    path = task_dir / config.test_file
    if not path.is_file():
        message = f"{result.model} / {task.name}: no {path}; skipped the test prediction and submission file"
        result.warnings.append(message)
        reporter.message(message)
        return
    examples = _read(task, path, "test", config.max_test_examples, result)
    tick = ticker(reporter, f"{result.model} / {task.name}: test", len(examples))
    predictions = predict(model, _encode(tokenizer, task, examples, max_len), config.eval_batch_size, tick)
    write_submission(paths.submission_dir / task.submission_file, [ex.id for ex in examples], predictions.labels)
    result.submission, result.n_test = task.submission_file, len(examples)
    if examples and all(ex.label is not None for ex in examples):  # a labelled test file (test_public.json)
        result.test_score = get_metric(task.metric)([ex.label for ex in examples], predictions.labels)
    if config.max_test_examples is not None:
        result.warnings.append(f"{task.submission_file} holds only the first {len(examples)} test rows")


def _save_model(model: Any, tokenizer: Any, directory: Path, result: PairResult) -> None:
    """A self-contained HF checkpoint: weights, config with the task's id2label, tokenizer files."""
    directory.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        model.save_pretrained(str(directory))
        tokenizer.save_pretrained(str(directory))
    record = {"task": result.task, "dev_score": result.dev_score, "settings": result.settings}
    (directory / "tinyzh_eval.json").write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    result.saved_model = str(directory)
