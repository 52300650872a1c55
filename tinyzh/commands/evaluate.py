"""``tinyzh eval``: fine-tune and score models on CLUE tasks, write leaderboard submission files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tinyzh.errors import ConfigError

if TYPE_CHECKING:
    from tinyzh.evaluate.results import Summary

ALL = "all"  # tinyzh.tasks.data.ALL_TASKS


def _task_names(tasks: str, data_dir: Path, console: Console) -> list[str]:
    from tinyzh.tasks.data import expand_tasks

    names, warnings = expand_tasks(tasks, data_dir)
    for message in warnings:
        console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)
    return names


def rich_table(summary: Summary) -> Table:
    """The results table of ``tinyzh eval`` (dev scores x100)."""
    from tinyzh.evaluate.results import table_cells

    columns, rows = table_cells(summary)
    table = Table(title="tinyzh eval (dev set)")
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        table.add_row(*row)
    return table


def evaluate(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Folder holding <task>/{train,dev,test}.json.")],
    models: Annotated[list[str] | None, typer.Argument(help="Models, as with --model.", show_default=False)] = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help="Checkpoint dir or hub name; NAME=PATH sets the output name. Repeatable.")] = None,
    tasks: Annotated[str, typer.Option("--tasks", help="Comma list (afqmc,tnews,iflytek,ocnli,cmnli,cluewsc2020,csl) or 'all' present in --data-dir.")] = ALL,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (results, submissions, models).")] = Path("results"),
    epochs: Annotated[float, typer.Option(help="Fine-tuning epochs (fractions allowed).")] = 3.0,
    batch_size: Annotated[int, typer.Option(help="Training batch size.")] = 16,
    eval_batch_size: Annotated[int, typer.Option(help="Batch size for dev/test prediction.")] = 64,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 2e-5,
    warmup_ratio: Annotated[float, typer.Option(help="Fraction of steps with linear warm-up.")] = 0.1,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay (not on biases/LayerNorm).")] = 0.01,
    max_seq_len: Annotated[int | None, typer.Option(help="Max tokens per example [default: the task's, 128; CSL 256].")] = None,
    max_train_examples: Annotated[int | None, typer.Option(help="Use only the first N training rows.")] = None,
    max_dev_examples: Annotated[int | None, typer.Option(help="Score only the first N dev rows.")] = None,
    max_test_examples: Annotated[int | None, typer.Option(help="Predict only the first N test rows (partial submission).")] = None,
    train_file: Annotated[str, typer.Option(help="Training file name inside each task folder.")] = "train.json",
    dev_file: Annotated[str, typer.Option(help="Dev file name inside each task folder.")] = "dev.json",
    test_file: Annotated[str, typer.Option(help="Test file name (test_public.json is labelled: its score is reported too).")] = "test.json",
    no_train: Annotated[bool, typer.Option("--no-train", help="Evaluate already fine-tuned checkpoints (PATH or PATH/<task>).")] = False,
    save_models: Annotated[bool, typer.Option("--save-models", help="Keep each fine-tuned model in OUTPUT/<model>/models/<task>.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rerun pairs that already have a result.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed (head initialisation, shuffling, dropout).")] = 42,
    threads: Annotated[int | None, typer.Option(help="torch CPU threads [default: all cores; 1 is faster on a busy machine].")] = None,
    report_to: Annotated[str, typer.Option("--report-to", help="Also log each pair's train loss and dev score to: tensorboard (OUTPUT/tensorboard) or none.")] = "none",
) -> None:
    """Fine-tune every --model on every task, score dev, predict test and write CLUE submission files.

    Example: tinyzh eval -m student/ -m teacher/ --tasks afqmc,tnews --data-dir clue --output results
    (models may also be given as arguments: tinyzh eval student/ teacher/ --data-dir clue).
    """
    from tinyzh.commands.reporting import command_reporter
    from tinyzh.evaluate.config import EvalConfig, ModelSpec
    from tinyzh.evaluate.runner import run_eval

    specs = [ModelSpec.parse(m) for m in [*(models or []), *(model or [])]]
    if not specs:
        raise ConfigError("no model given; pass checkpoint directories as arguments or with --model (NAME=PATH)")
    console = Console(stderr=True)
    config = EvalConfig(
        models=specs, tasks=_task_names(tasks, data_dir, console), data_dir=data_dir,
        output=output, epochs=epochs, batch_size=batch_size, eval_batch_size=eval_batch_size, lr=lr,
        warmup_ratio=warmup_ratio, weight_decay=weight_decay, max_seq_len=max_seq_len,
        max_train_examples=max_train_examples, max_dev_examples=max_dev_examples,
        max_test_examples=max_test_examples, train_file=train_file, dev_file=dev_file, test_file=test_file,
        no_train=no_train, save_models=save_models, force=force, seed=seed, threads=threads,
    )
    reporter = command_reporter(console, report_to, output, transient=True)
    try:
        summary = run_eval(config, reporter)
    finally:
        reporter.close()
    Console(width=max(100, 20 + 12 * len(summary.tasks))).print(rich_table(summary))
    typer.echo(f"results: {output / 'results.json'}, {output / 'results.csv'}, {output / 'results.png'}")
    for spec in config.models:
        zipped = output / spec.name / "submission.zip"
        if zipped.is_file():
            typer.echo(f"submission ({spec.name}): {zipped}")
