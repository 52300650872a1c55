"""``tinyzh demo``: the bundled ``demo`` recipe (``tinyzh run demo``) and the demo's table, offline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for every stage's output.")] = Path(
        "tinyzh-demo"
    ),
    size: Annotated[
        str,
        typer.Option(
            "--size", help="default (minutes), tiny (seconds, for tests) or large (longer, clearer gap)."
        ),
    ] = "default",
    seed: Annotated[int, typer.Option("--seed", help="Random seed of every stage.")] = 0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start over: remove an earlier run in --output (without it a rerun skips what is up to date).")
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option("--threads", help="CPU threads (default: torch's; 1 is fastest on a busy machine)."),
    ] = None,
    report_to: Annotated[
        str, typer.Option("--report-to", help="Also log every stage's metrics to: tensorboard (OUTPUT/tensorboard/<stage>) or none.")
    ] = "none",
) -> None:
    """Build a small Chinese teacher from bundled text, then pregen -> distill -> augment -> distill -> eval
    (the bundled recipe `demo`; `tinyzh run demo --dry-run` shows its stages and commands).

    Prints teacher vs student vs a no-distillation baseline: parameters, size on disk, inference speed and dev accuracy; the table is also written to OUTPUT/demo_results.md and .json.
    """
    from tinyzh.commands.reporting import RichReporter
    from tinyzh.demo.report import COLUMNS, explanation, headline, table_rows
    from tinyzh.demo.run import run_demo

    console = Console()
    start = time.perf_counter()
    reporter = RichReporter(console, transient=True)
    try:
        report = run_demo(size, output, seed=seed, threads=threads, overwrite=overwrite, report_to=report_to,
                          reporter=reporter)
    finally:
        reporter.close()
    table = Table(title=f"tinyzh demo ({size}): demo-products dev set, CPU")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "model" else "right")
    for cells in table_rows(report):
        table.add_row(*cells)
    console.print(table)
    console.print(headline(report))
    console.print(explanation(report))
    console.print(f"wrote {output / 'demo_results.md'} in {time.perf_counter() - start:.0f} s")
