"""``tinyzh augment``: write augmented copies of a task's training file (see docs/augment.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tinyzh.config import DEFAULT_TEACHER

if TYPE_CHECKING:
    from tinyzh.augment.runner import AugmentSummary


def augment(
    task: Annotated[str, typer.Option("--task", help="Task plugin that reads and writes the file, e.g. tnews, ocnli.")],
    input: Annotated[Path, typer.Option("--input", help="The task's training file (JSON lines).")],
    output: Annotated[Path, typer.Option("--output", help="Where to write the originals and their copies.")],
    augmenter: Annotated[
        str, typer.Option("--augmenter", help="Comma-separated augmenters: synonym, mlm, homophone, or a plugin.")
    ] = "synonym",
    num_aug: Annotated[int, typer.Option("--num-aug", help="Distinct augmented copies per example.")] = 20,
    p: Annotated[float, typer.Option("--p", help="Probability of replacing each replaceable word.")] = 0.4,
    top_k: Annotated[int, typer.Option("--top-k", help="Candidates kept per word.")] = 15,
    synonyms: Annotated[
        Path | None, typer.Option("--synonyms", help="Synonym dictionary (default: the small one shipped).")
    ] = None,
    synonyms_format: Annotated[
        str, typer.Option("--synonyms-format", help="auto, cilin (Aa01A01= 人 士) or plain (one group a line).")
    ] = "auto",
    teacher: Annotated[
        str | None, typer.Option("--teacher", help=f"Masked-LM for mlm: a model name or local directory [default: {DEFAULT_TEACHER}].")
    ] = None,
    vocab: Annotated[
        str | None,
        typer.Option("--vocab", help="Homophones only from this vocabulary: vocab.txt or a tokenizer [default: --teacher when given]."),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="Device for the mlm teacher: cpu, cuda, cuda:1 ...")] = "cpu",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Masked positions per forward pass (mlm).")] = 128,
    window: Annotated[int, typer.Option("--window", help="Tokens of context around each masked word (mlm).")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the output depends only on it and the options.")] = 42,
    workers: Annotated[int, typer.Option("--workers", help="Processes; the output is the same for any number.")] = 1,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Input lines a unit of work (and a masked-LM batch); larger suits a GPU.")
    ] = 64,
    balance: Annotated[
        bool, typer.Option("--balance", help="Keep the input's label proportions: drop copies of labels that grew more.")
    ] = False,
    allow_unlabeled: Annotated[
        bool, typer.Option("--allow-unlabeled", help="Rows without a label are augmented too and their copies have none "
                           "(e.g. FewCLUE's unlabeled.json, for distillation's prediction step).")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start again instead of resuming an unfinished output.")
    ] = False,
) -> None:
    """Augment a task's training file with synonyms, masked-LM guesses and homophones.

    Writes each example followed by up to --num-aug distinct copies, in the input's format.
    Rerun the same command to resume an interrupted run. Bad input lines: OUTPUT.bad.txt.
    """
    from tinyzh.augment.config import AugmentConfig

    config = AugmentConfig(
        task=task, input=input, output=output, augmenters=tuple(augmenter.split(",")), num_aug=num_aug, p=p,
        top_k=top_k, synonyms=synonyms, synonyms_format=synonyms_format, teacher=teacher or DEFAULT_TEACHER,
        vocab=vocab if vocab is not None else teacher, device=device,
        batch_size=batch_size, window=window, seed=seed, workers=workers, chunk_size=chunk_size, balance=balance,
        split="test" if allow_unlabeled else "train", overwrite=overwrite,
    )
    summary = _run_with_progress(config)
    _print_summary(summary)


def _run_with_progress(config: object) -> AugmentSummary:
    from tinyzh.augment.runner import run_augment
    from tinyzh.commands.reporting import RichReporter

    reporter = RichReporter(Console(stderr=True), transient=True)
    try:
        return run_augment(config, reporter)  # type: ignore[arg-type]
    finally:
        reporter.close()


def _label_rows(summary: AugmentSummary) -> list[tuple[str, str]]:
    """Per-label counts before and after, and the shares, so a shift in class balance is seen."""
    from tinyzh.augment.balance import label_table, shares

    stats = summary.stats
    if not stats.labels_in or list(stats.labels_in) == ["None"]:
        return []
    rows = [(f"label {label}", counts) for label, counts in label_table(stats.labels_in, stats.labels_out)]
    rows.append(("label shares in", shares(stats.labels_in)))
    note = f" (--balance dropped {stats.balanced_out:,} copies)" if summary.config.balance else " (--balance keeps those in)"
    rows.append(("label shares out", shares(stats.labels_out) + note))
    return rows


def _print_summary(summary: AugmentSummary) -> None:
    stats, cfg = summary.stats, summary.config
    rates = stats.per_example()
    table = Table(title=f"tinyzh augment: {cfg.output}", show_header=False)
    note = ""
    if summary.already_complete:
        note = " (finished by an earlier run; --overwrite to redo)"
    elif summary.resumed_at:
        note = f" (resumed after {summary.resumed_at:,})"
    rows = [
        ("input lines", f"{stats.lines:,}{note}"),
        ("examples in", f"{stats.examples_in:,}"),
        ("records out", f"{stats.records_out:,} ({stats.copies:,} copies + originals)"),
        ("copies per example", f"{rates['copies_per_example']:.2f} (wanted {cfg.num_aug})"),
        ("replacements per copy", f"{rates['replacements_per_copy']:.2f} words"),
        (f"examples with < {cfg.num_aug} copies", f"{stats.short:,} ({rates['short_share']:.1%})"),
        ("examples with no copy", f"{stats.no_copy:,} ({stats.no_copy / max(stats.examples_in, 1):.1%})"),
        ("bad lines", f"{stats.bad_lines:,}"),
        ("rows the task skipped", f"{stats.skipped:,}"),
    ]
    if summary.report:
        rows.append(("report", str(summary.report)))
    if stats.rejected:
        rows.append(("copies refused by the task", f"{stats.rejected:,}"))
    rows += _label_rows(summary)
    for name, value in rows:
        table.add_row(name, value)
    console = Console()
    console.print(table)
    from rich.markup import escape

    for line in summary.bad_preview:
        Console(stderr=True).print(f"[yellow]reported:[/] {escape(line)}", highlight=False)
