"""``export_model``: build every variant, check it against PyTorch, time and score it, keep the best.

Every export is checked on a batch of another shape than the one it was traced with, padding
included, so a graph that baked in a shape or ignores ``attention_mask`` fails here, not in
production. Variants are built in a scratch directory; the one chosen (see
:func:`tinyzh.export.gate.choose`) is copied to ``config.output_path``. The report has one row per
variant: the PyTorch checkpoint, the fp32 export(s) and, with ``--quantize``, the int8 ones.
Usage::

    report = export_model(ExportConfig(Path("student"), quantize="int8", task="tnews", data=dev))
    report.chosen, report.output, [(r.variant, r.latency_ms, r.dev_delta) for r in report.rows]
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from tinyzh.errors import TinyzhError
from tinyzh.export import gate
from tinyzh.export.config import ExportConfig
from tinyzh.export.model import (
    TensorModule,
    check_seq_len,
    checkpoint_bytes,
    copy_side_files,
    example_inputs,
    load_for_export,
)
from tinyzh.export.timing import cpu_info, side_by_side, side_by_side_calls
from tinyzh.export.variants import Variant, build_variants

CHECK_SHAPE = (3, 11)  # (B, T) of the comparison batch: deliberately not TRACE_SHAPE
FP32_TOLERANCE = 1e-4  # max |export - pytorch| allowed, plus 1e-3 of the largest |output|

Forward = Callable[..., torch.Tensor]


@dataclass
class Measurement:
    """One row of the report; the dev columns are None without ``--task``/``--data``."""

    variant: str  # "pytorch", "onnx", "onnx int8 dynamic", "torchscript int8", ...
    path: str
    size_bytes: int
    latency_ms: float  # median, batch_size x seq_len
    max_abs_diff: float | None = None  # vs PyTorch on the check batch; None for PyTorch itself
    dev_score: float | None = None  # task metric in points
    dev_delta: float | None = None  # dev_score - PyTorch's
    dev_ms: float | None = None  # median, batch 1 at each dev row's own length, model alone
    dev_tokenized_ms: float | None = None  # the same with the fast tokenizer in the loop
    rows_per_s: float | None = None  # dev rows per second in batches of 32
    note: str = ""


@dataclass
class ExportReport:
    config: ExportConfig
    output: Path
    rows: list[Measurement] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)  # side files copied beside the output
    chosen: str = ""
    fusions: dict[str, int] = field(default_factory=dict)  # fused op -> count (ONNX, optimised)
    calibration: str = ""  # what static int8 was calibrated on
    cpu: dict[str, Any] = field(default_factory=dict)
    pruned: dict[str, Any] = field(default_factory=dict)  # the prune-vocab report with --prune

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "output": str(self.output),
            "chosen": self.chosen,
            "fusions": self.fusions,
            "calibration": self.calibration,
            "cpu": self.cpu,
            "pruned": self.pruned,
            "rows": [asdict(r) for r in self.rows],
        }


def export_model(config: ExportConfig) -> ExportReport:
    """Export, verify, measure and choose; see the module docstring."""
    from tinyzh.hf import quiet_transformers

    with quiet_transformers():  # tracing triggers transformers' one-time config warnings
        return _export_model(config)


def _max_diff(forward: Forward, reference: torch.Tensor, inputs: tuple[torch.Tensor, ...]) -> float:
    with torch.no_grad():
        return float((forward(*inputs).float() - reference).abs().max())


def _check_fp32(variant: str, diff: float, reference: torch.Tensor) -> None:
    limit = FP32_TOLERANCE + 1e-3 * float(reference.abs().max())
    if diff > limit:
        raise TinyzhError(
            f"the {variant} export disagrees with PyTorch by {diff:.2e} (allowed {limit:.2e}); "
            "it should not be deployed — please report this with the model config"
        )


def _export_model(config: ExportConfig) -> ExportReport:
    if config.threads:
        torch.set_num_threads(config.threads)
    with tempfile.TemporaryDirectory(prefix="tinyzh-export-") as scratch:
        pruned = prune_for_task(config, Path(scratch) / "pruned") if config.prune else None
        model_dir = Path(pruned.output) if pruned is not None else config.model
        # Every step (the eager reload for ONNX fusions included) reads the pruned checkpoint.
        source = replace(config, model=model_dir, output=config.output_path, prune=False) if pruned else config
        report = _export_from(source, model_dir, Path(scratch))
        report.config = config
        report.pruned = asdict(pruned) if pruned is not None else {}
        report.copied = copy_side_files(model_dir, config.output_path.parent)
    sidecar = config.output_path.with_name(config.output_path.name + ".json")
    sidecar.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return report


def prune_for_task(config: ExportConfig, output: Path) -> Any:
    """The model pruned to the embedding rows the task's files need (``--prune``): every ``*.json`` task file
    beside ``--data`` (train, dev, test), plus the calibration file; the basic CJK/ASCII rows stay."""
    from tinyzh.prune import prune_model
    from tinyzh.prune.texts import read_task_texts

    assert config.data is not None and config.task is not None  # ExportConfig checks --prune needs them
    files = sorted({config.data, *config.data.parent.glob("*.json"), *([config.calibration] if config.calibration else [])})
    files = [f for f in files if f.is_file() and not f.name.endswith(".onnx.json")]
    return prune_model(config.model, read_task_texts(config.task, files), output, text_files=files)


def _export_from(config: ExportConfig, model_dir: Path, scratch: Path) -> ExportReport:
    module = load_for_export(model_dir)
    check_seq_len(module, config.seq_len, model_dir)
    check = example_inputs(module, *CHECK_SHAPE, seed=1)
    with torch.no_grad():
        reference = module(*check).float()
    dev = None
    if config.task is not None:
        from tinyzh.plugins import get_task

        dev = gate.load_dev_set(get_task(config.task), config.data, module, model_dir, config.max_dev_examples)
    report = ExportReport(config, config.output_path, cpu=cpu_info())
    built = build_variants(config, module, dev, scratch)
    report.fusions, report.calibration = built.fusions, built.calibration
    rows = _measure(config, module, built.variants, reference, check, dev)
    _choose(config, rows, built.variants)
    report.chosen = next(r.variant for r in rows if r.note.startswith("chosen"))
    chosen_path = next(v.path for v in built.variants if v.name == report.chosen)
    config.output_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(chosen_path, config.output_path)
    for row in rows[1:]:
        row.path = str(config.output_path) if row.variant == report.chosen else "(not kept)"
    report.rows = rows
    return report


def _measure(config: ExportConfig, module: TensorModule, variants: list[Variant], reference: torch.Tensor,
             check: tuple[torch.Tensor, ...], dev: gate.DevSet | None) -> list[Measurement]:
    """One row per variant (PyTorch first): check difference, latency side by side, dev columns."""
    rows = [Measurement("pytorch", str(config.model), checkpoint_bytes(config.model), 0.0, note="reference")]
    for v in variants:
        diff = _max_diff(v.forward, reference, check)
        if not v.is_int8:
            _check_fp32(v.name, diff, reference)
        rows.append(Measurement(v.name, str(v.path), v.path.stat().st_size, 0.0, diff))
    forwards: dict[str, Forward] = {"pytorch": module, **{v.name: v.forward for v in variants}}
    bench = example_inputs(module, config.batch_size, config.seq_len, seed=2, pad=False)
    latency = side_by_side(forwards, [bench] * config.runs, warmup=config.warmup)
    for row in rows:
        row.latency_ms = latency[row.variant]
    if dev is not None:
        _measure_dev(config, forwards, rows, dev)
    return rows


def _measure_dev(config: ExportConfig, forwards: dict[str, Forward], rows: list[Measurement],
                 dev: gate.DevSet) -> None:
    """Dev score and throughput (batch 32), then batch-1 latency on real rows, alone and tokenised."""
    for row in rows:
        row.dev_score, row.rows_per_s = gate.score(forwards[row.variant], dev)
        row.dev_delta = row.dev_score - rows[0].dev_score
    picked = range(min(config.dev_latency_rows, len(dev)))
    rows_alone = [dev.row(i) for i in picked]
    calls: dict[tuple[str, str], list[Callable[[], object]]] = {}
    for name, f in forwards.items():  # alone and tokenised alternate in one loop: same load for both
        calls[name, "alone"] = [lambda f=f, row=row: f(*row) for row in rows_alone]
        calls[name, "tokenized"] = [lambda f=f, i=i: f(*dev.tokenize(i)) for i in picked]
    if config.warmup:  # warm every variant at short lengths first
        side_by_side(forwards, rows_alone[: config.warmup])
    medians = side_by_side_calls(calls)
    for row in rows:
        row.dev_ms, row.dev_tokenized_ms = medians[row.variant, "alone"], medians[row.variant, "tokenized"]


def _choose(config: ExportConfig, rows: list[Measurement], variants: list[Variant]) -> None:
    is_int8 = {v.name: v.is_int8 for v in variants}
    candidates = [gate.Candidate(r.variant, r.latency_ms, r.dev_delta, is_int8[r.variant]) for r in rows[1:]]
    _, notes = gate.choose(candidates, config.max_drop, want_int8=config.quantize is not None)
    for row in rows[1:]:
        row.note = notes[row.variant]
