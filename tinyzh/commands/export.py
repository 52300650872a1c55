"""``tinyzh export``: a deployable ONNX / TorchScript file, with size and latency beside PyTorch's."""

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
        str | None, typer.Option("--quantize", help="int8: dynamic int8 quantization of the linear layers.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: MODEL/model[.int8].onnx or .pt)."),
    ] = None,
    seq_len: Annotated[int, typer.Option("--seq-len", help="Sequence length of the latency batch.")] = 128,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Batch size of the latency batch.")] = 1,
    runs: Annotated[int, typer.Option("--runs", help="Timed forward passes (the median is shown).")] = 20,
    threads: Annotated[
        int | None, typer.Option("--threads", help="CPU threads for PyTorch and ONNX Runtime (default: all).")
    ] = None,
) -> None:
    """Export MODEL to ONNX or TorchScript, check its outputs against PyTorch, and compare size and latency.

    ONNX needs onnx, onnxscript and onnxruntime (the package's export extra). The file is checked on a padded batch of another shape than it was traced with; a side file OUTPUT.json keeps the config and figures.
    """
    from tinyzh.export import ExportConfig, export_model
    from tinyzh.lock import output_lock

    config = ExportConfig(
        model=model,
        format=format,
        quantize=quantize,
        output=output,
        seq_len=seq_len,
        batch_size=batch_size,
        runs=runs,
        threads=threads,
    )
    with output_lock(config.output_path, "export", kind="file"):
        report = export_model(config)
    _print_report(report)


def _print_report(report: ExportReport) -> None:
    config = report.config
    table = Table(title=f"tinyzh export: batch {config.batch_size} x {config.seq_len} tokens, CPU")
    for column in ("variant", "size (MB)", "latency (ms)", "speed-up", "max |diff| vs pytorch"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    base = report.rows[0]
    for row in report.rows:
        diff = "-" if row.max_abs_diff is None else f"{row.max_abs_diff:.2e}"
        speedup = base.latency_ms / row.latency_ms if row.latency_ms > 0 else float("nan")
        table.add_row(
            row.variant, f"{row.size_bytes / 1e6:.2f}", f"{row.latency_ms:.2f}", f"{speedup:.2f}x", diff
        )
    console = Console()
    console.print(table)
    console.print(f"wrote [bold]{report.output}[/] (figures in {report.output.name}.json)")
