"""``tinyzh export``: deployable ONNX / TorchScript files, int8 chosen by dev accuracy, timed beside PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from tinyzh.export import ExportReport


def export(
    model: Annotated[
        Path, typer.Argument(help="Checkpoint directory (sequence classifier or base/MLM model).")
    ],
    format: Annotated[str, typer.Option("--format", "-f", help="onnx or torchscript.")] = "onnx",
    quantize: Annotated[
        str | None,
        typer.Option(
            "--quantize",
            help="int8: try every int8 variant and keep the fastest that passes the gate; or one of "
            "int8-dynamic, int8-dynamic-pc, int8-static (ONNX).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: MODEL/model[.int8].onnx or .pt)."),
    ] = None,
    task: Annotated[
        str | None, typer.Option(
            "--task", help="Task of --data (tnews, ocnli, …; default: the one eval --save-models recorded)."
        )
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Labelled dev file every variant is scored on.")
    ] = None,
    max_drop: Annotated[
        float, typer.Option("--max-drop", help="Most dev points an int8 variant may lose against PyTorch.")
    ] = 1.0,
    calibration: Annotated[
        Path | None,
        typer.Option("--calibration", help="Rows for static int8 (default: train.json beside --data)."),
    ] = None,
    calibration_rows: Annotated[
        int, typer.Option("--calibration-rows", help="Rows drawn from the calibration file.")
    ] = 64,
    max_dev_examples: Annotated[
        int | None, typer.Option("--max-dev-examples", help="Score only the first N dev rows.")
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Keep only the embedding rows the task's files (beside --data) need.")
    ] = False,
    optimize: Annotated[
        bool,
        typer.Option("--optimize/--no-optimize", help="ONNX Runtime's fused attention, LayerNorm and GELU."),
    ] = True,
    seq_len: Annotated[int, typer.Option("--seq-len", help="Sequence length of the latency batch.")] = 128,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Batch size of the latency batch.")] = 1,
    runs: Annotated[int, typer.Option("--runs", help="Timed forward passes (the median is shown).")] = 20,
    threads: Annotated[
        int | None, typer.Option("--threads", help="CPU threads for PyTorch and ONNX Runtime (default: all).")
    ] = None,
) -> None:
    """Export MODEL to ONNX or TorchScript, check it against PyTorch, time every variant and keep the best.

    ONNX needs onnx, onnxscript and onnxruntime (the package's export extra). Each file is checked on a padded batch of another shape than it was traced with. With --task and --data every variant is scored on the dev file and an int8 variant losing more than --max-drop points is not chosen. A side file OUTPUT.json keeps the config and every figure.
    """
    from tinyzh.export import ExportConfig, export_model
    from tinyzh.lock import output_lock

    config = ExportConfig(
        model=model,
        format=format,
        quantize=quantize,
        output=output,
        task=task,
        data=data,
        max_drop=max_drop,
        calibration=calibration,
        calibration_rows=calibration_rows,
        max_dev_examples=max_dev_examples,
        prune=prune,
        optimize=optimize,
        seq_len=seq_len,
        batch_size=batch_size,
        runs=runs,
        threads=threads,
    )
    with output_lock(config.output_path, "export", kind="file"):
        report = export_model(config)
    _print_report(report)
    if report.pruned:
        p = report.pruned
        Console().print(f"pruned: {p['tokens_before']:,} -> {p['tokens_after']:,} tokens, "
                      f"{p['bytes_before'] / 1e6:.1f} -> {p['bytes_after'] / 1e6:.1f} MB of PyTorch weights")


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _print_report(report: ExportReport) -> None:
    config = report.config
    gated = config.task is not None
    title = f"tinyzh export: batch {config.batch_size} x {config.seq_len} tokens, threads: {config.threads or 'all'}"
    table = Table(title=title)
    columns = ["variant", "size (MB)", "ms", "speed-up", "max |diff|"]
    if gated:
        columns += [f"dev {config.task}", "Δ", "ms b1 dev", "ms b1 +tok", "rows/s b32"]
    for column in [*columns, "note"]:
        table.add_column(column, justify="left" if column in ("variant", "note") else "right")
    base = report.rows[0]
    for row in report.rows:
        speedup = base.latency_ms / row.latency_ms if row.latency_ms > 0 else float("nan")
        cells = [row.variant, f"{row.size_bytes / 1e6:.2f}", f"{row.latency_ms:.2f}", f"{speedup:.2f}x",
                 _fmt(row.max_abs_diff, ".2e")]
        if gated:
            cells += [_fmt(row.dev_score, ".2f"), _fmt(row.dev_delta, "+.2f"), _fmt(row.dev_ms, ".2f"),
                      _fmt(row.dev_tokenized_ms, ".2f"), _fmt(row.rows_per_s, ".0f")]
        table.add_row(*cells, row.note)
    console = Console()
    console.print(table)
    cpu = report.cpu
    console.print(f"CPU: {cpu.get('model')} ({', '.join(cpu.get('flags') or []) or 'no AVX2/VNNI/AMX flags'})")
    if report.fusions:
        console.print("fused: " + ", ".join(f"{name} {count}" for name, count in report.fusions.items()))
    if report.calibration:
        console.print(f"static int8 calibrated on {report.calibration}")
    console.print(f"wrote [bold]{report.output}[/] ({report.chosen}; figures in {report.output.name}.json)")
