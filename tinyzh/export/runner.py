"""``export_model``: write the deployable file, check it against PyTorch, measure size and latency.

Every export is checked on a batch of another shape than the one it was traced with, padding
included, so a graph that baked in a shape or ignores ``attention_mask`` fails here, not in
production. The report has one row per variant — the PyTorch checkpoint, the fp32 export and, with
``--quantize int8``, the int8 export (the fp32 one is then written to a temp dir only to be measured).
Usage::

    report = export_model(ExportConfig(Path("student"), format="onnx", quantize="int8"))
    report.rows[-1].latency_ms, report.output
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from tinyzh.errors import TinyzhError
from tinyzh.export.config import ExportConfig
from tinyzh.export.model import (
    TensorModule,
    checkpoint_bytes,
    copy_side_files,
    example_inputs,
    load_for_export,
)

TRACE_SHAPE = (2, 16)  # (B, T) the exporters trace with; batch 2 keeps the batch dimension dynamic
CHECK_SHAPE = (3, 11)  # (B, T) of the comparison batch: deliberately not TRACE_SHAPE
FP32_TOLERANCE = 1e-4  # max |export - pytorch| allowed, plus 1e-3 of the largest |output|

Forward = Callable[..., torch.Tensor]


@dataclass
class Measurement:
    """One row of the report."""

    variant: str  # "pytorch", "onnx", "onnx int8", "torchscript", "torchscript int8"
    path: str
    size_bytes: int
    latency_ms: float  # median of config.runs forward passes
    max_abs_diff: float | None = None  # vs PyTorch on the check batch; None for PyTorch itself


@dataclass
class ExportReport:
    config: ExportConfig
    output: Path
    rows: list[Measurement] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)  # side files copied beside the output

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "output": str(self.output),
            "rows": [asdict(r) for r in self.rows],
        }


def measure_latency(forward: Forward, inputs: tuple[torch.Tensor, ...], runs: int, warmup: int) -> float:
    """Median wall time of one call in milliseconds."""
    times = []
    with torch.no_grad():
        for i in range(warmup + runs):
            start = time.perf_counter()
            forward(*inputs)
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _max_diff(forward: Forward, reference: torch.Tensor, inputs: tuple[torch.Tensor, ...]) -> float:
    with torch.no_grad():
        return float((forward(*inputs).float() - reference).abs().max())


def _export_onnx(
    module: TensorModule, trace: tuple, config: ExportConfig, scratch: Path
) -> list[tuple[str, Path, Forward]]:
    from tinyzh.export.onnx_format import OnnxRunner, export_onnx, quantize_onnx

    fp32_path = scratch / "model.onnx" if config.quantize else config.output_path
    export_onnx(module, trace, fp32_path, opset=config.opset)
    variants = [("onnx", fp32_path, OnnxRunner(fp32_path, config.threads))]
    if config.quantize:
        int8_path = quantize_onnx(fp32_path, config.output_path)
        variants.append(("onnx int8", int8_path, OnnxRunner(int8_path, config.threads)))
    return variants


def _export_torchscript(
    module: TensorModule, trace: tuple, config: ExportConfig, scratch: Path
) -> list[tuple[str, Path, Forward]]:
    from tinyzh.export.torchscript_format import export_torchscript, load_torchscript, quantize_int8

    fp32_path = scratch / "model.pt" if config.quantize else config.output_path
    export_torchscript(module, trace, fp32_path)
    variants = [("torchscript", fp32_path, load_torchscript(fp32_path))]
    if config.quantize:
        int8_path = export_torchscript(quantize_int8(module), trace, config.output_path)
        variants.append(("torchscript int8", int8_path, load_torchscript(int8_path)))
    return variants


def _check_fp32(variant: str, diff: float, reference: torch.Tensor) -> None:
    limit = FP32_TOLERANCE + 1e-3 * float(reference.abs().max())
    if diff > limit:
        raise TinyzhError(
            f"the {variant} export disagrees with PyTorch by {diff:.2e} (allowed {limit:.2e}); "
            "the file was written but should not be deployed — please report this with the model config"
        )


def export_model(config: ExportConfig) -> ExportReport:
    """Export, verify and measure; see the module docstring."""
    from tinyzh.hf import quiet_transformers

    with quiet_transformers():  # tracing triggers transformers' one-time config warnings
        return _export_model(config)


def _export_model(config: ExportConfig) -> ExportReport:
    if config.threads:
        torch.set_num_threads(config.threads)
    module = load_for_export(config.model)
    trace = example_inputs(module, *TRACE_SHAPE, seed=0)
    check = example_inputs(module, *CHECK_SHAPE, seed=1)
    bench = example_inputs(module, config.batch_size, config.seq_len, seed=2, pad=False)
    with torch.no_grad():
        reference = module(*check).float()
    report = ExportReport(config, config.output_path)
    torch_ms = measure_latency(module, bench, config.runs, config.warmup)
    report.rows.append(Measurement("pytorch", str(config.model), checkpoint_bytes(config.model), torch_ms))
    exporter = _export_onnx if config.format == "onnx" else _export_torchscript
    with tempfile.TemporaryDirectory(prefix="tinyzh-export-") as scratch:
        for variant, path, forward in exporter(module, trace, config, Path(scratch)):
            diff = _max_diff(forward, reference, check)
            if not variant.endswith("int8"):
                _check_fp32(variant, diff, reference)
            latency = measure_latency(forward, bench, config.runs, config.warmup)
            kept = str(path) if path == config.output_path else "(not kept)"
            report.rows.append(Measurement(variant, kept, path.stat().st_size, latency, diff))
    report.copied = copy_side_files(config.model, config.output_path.parent)
    sidecar = config.output_path.with_name(config.output_path.name + ".json")
    sidecar.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return report
