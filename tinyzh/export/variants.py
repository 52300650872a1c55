"""Which files ``tinyzh export`` builds for a config, each with a forward to check and time it.

ONNX with ``--optimize`` (the default): ``onnx unfused`` (the TorchScript exporter's graph),
``onnx`` (the same after ONNX Runtime's fusions) and, with ``--quantize int8``, ``onnx int8
dynamic``, ``onnx int8 dynamic per-channel`` (both from the fused graph) and ``onnx int8 static``
(from the unfused graph, calibrated on training rows). ``--no-optimize``: ``onnx`` from the
``torch.export`` exporter and the int8 variants made from it. TorchScript: ``torchscript`` and
``torchscript int8``. A ``--quantize int8-…`` name builds that int8 variant only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tinyzh.export import gate
from tinyzh.export.config import ExportConfig
from tinyzh.export.model import TensorModule, example_inputs, load_for_export

TRACE_SHAPE = (2, 16)  # (B, T) the exporters trace with; batch 2 keeps the batch dimension dynamic
RANDOM_CALIBRATION_LENGTHS = (8, 16, 32, 64)  # tokens of the random rows used without a task
INT8_NAMES = {
    "int8-dynamic": "onnx int8 dynamic",
    "int8-dynamic-pc": "onnx int8 dynamic per-channel",
    "int8-static": "onnx int8 static",
}


@dataclass
class Variant:
    name: str
    path: Path
    forward: Callable[..., torch.Tensor]
    is_int8: bool


@dataclass
class Built:
    variants: list[Variant] = field(default_factory=list)
    fusions: dict[str, int] = field(default_factory=dict)
    calibration: str = ""


def build_variants(config: ExportConfig, module: TensorModule, dev: gate.DevSet | None, scratch: Path) -> Built:
    """Write every variant of ``config`` under ``scratch`` and open each for inference."""
    trace = example_inputs(module, *TRACE_SHAPE, seed=0)
    if config.format == "torchscript":
        return _torchscript(config, module, trace, scratch)
    return _onnx(config, module, trace, dev, scratch)


def _torchscript(config: ExportConfig, module: TensorModule, trace: tuple, scratch: Path) -> Built:
    from tinyzh.export.torchscript_format import export_torchscript, load_torchscript, quantize_int8

    fp32 = export_torchscript(module, trace, scratch / "model.pt")
    built = Built([Variant("torchscript", fp32, load_torchscript(fp32), False)])
    if config.quantize:
        int8 = export_torchscript(quantize_int8(module), trace, scratch / "model.int8.pt")
        built.variants.append(Variant("torchscript int8", int8, load_torchscript(int8), True))
    return built


def _wanted_int8(config: ExportConfig) -> list[str]:
    if config.quantize is None:
        return []
    return list(INT8_NAMES) if config.quantize == "int8" else [config.quantize]


def _onnx(config: ExportConfig, module: TensorModule, trace: tuple, dev: gate.DevSet | None,
          scratch: Path) -> Built:
    from tinyzh.export import onnx_variants as ov
    from tinyzh.export.onnx_format import OnnxRunner, export_onnx

    built = Built()
    raw = scratch / "model.raw.onnx"

    def add(name: str, path: Path, is_int8: bool) -> None:
        built.variants.append(Variant(name, path, OnnxRunner(path, config.threads), is_int8))

    if config.optimize:
        eager = load_for_export(config.model, attn_implementation="eager")
        ov.export_fusable(eager, trace, raw, config.opset)
        fp32 = scratch / "model.onnx"
        model_config = module.model.config
        built.fusions = ov.optimize(raw, fp32, model_config.num_attention_heads, model_config.hidden_size)
        add("onnx unfused", raw, False)
        add("onnx", fp32, False)
    else:
        fp32 = raw
        export_onnx(module, trace, raw, opset=max(config.opset, 18))  # torch.export emits opset 18+
        add("onnx", fp32, False)
    for key in _wanted_int8(config):
        target = scratch / f"model.{key}.onnx"
        if key == "int8-static":
            rows, built.calibration = _calibration(config, module, dev)
            ov.quantize_static(raw, target, (ov.feed_of(row) for row in rows))
        else:
            ov.quantize_dynamic(fp32, target, per_channel=key == "int8-dynamic-pc")
        add(INT8_NAMES[key], target, True)
    return built


def _calibration(config: ExportConfig, module: TensorModule,
                 dev: gate.DevSet | None) -> tuple[list[tuple[torch.Tensor, ...]], str]:
    """Calibration rows and a line saying what they are."""
    path = config.calibration_path
    if dev is not None and path is not None:
        rows = gate.calibration_rows(dev.task, path, dev.tokenizer, config.calibration_rows, dev.max_len)
        return rows, f"{len(rows)} rows of {path} (seed 0)"
    lengths = [n for n in RANDOM_CALIBRATION_LENGTHS if n <= config.seq_len] or [config.seq_len]
    rows = [example_inputs(module, 1, lengths[i % len(lengths)], seed=100 + i, pad=False)
            for i in range(config.calibration_rows)]
    return rows, f"{len(rows)} rows of random ids (no --task/--data: static int8 ranges may not fit real text)"
