"""ONNX export with PyTorch's ``torch.export``-based exporter, int8 with ONNX Runtime, and a runner.

- :func:`export_onnx` calls ``torch.onnx.export(..., dynamo=True)`` (the default exporter since
  PyTorch 2.9; it needs the ``onnx`` and ``onnxscript`` packages) with batch and sequence length as
  dynamic dimensions, and writes one self-contained file (weights inside, no ``.data`` side file).
- :func:`quantize_onnx` is ONNX Runtime's dynamic quantization: int8 weights for MatMul, Gemm, Gather,
  activations quantized on the fly (the recipe ONNX Runtime recommends for transformers on CPU).
- :class:`OnnxRunner` runs a file with ONNX Runtime's CPU provider.

All three packages come with ``pip install 'tinyzh[export]'``.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from tinyzh.errors import ConfigError, TinyzhError
from tinyzh.export.model import INPUT_NAMES, TensorModule

EXTRA_HINT = "install the export extra: pip install 'tinyzh[export]' (onnx, onnxscript, onnxruntime)"


def require(*modules: str) -> None:
    """A ``ConfigError`` naming the missing packages, before any slow work starts."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"--format onnx needs {', '.join(missing)}; {EXTRA_HINT}")


@contextmanager
def _quiet() -> Iterator[None]:
    """Hide the exporter's progress lines and deprecation chatter; errors still propagate."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "root")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def export_onnx(module: TensorModule, inputs: tuple[torch.Tensor, ...], path: Path, opset: int = 18) -> Path:
    """Write ``module`` as ONNX to ``path``, batch and sequence dimensions dynamic."""
    require("onnx", "onnxscript")
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
    dynamic_shapes = {name: {0: batch, 1: seq} for name in INPUT_NAMES}
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        try:
            torch.onnx.export(
                module,
                inputs,
                str(path),
                input_names=list(INPUT_NAMES),
                output_names=[module.output_name],
                dynamic_shapes=dynamic_shapes,
                opset_version=opset,
                dynamo=True,
                external_data=False,  # one file; fine below ONNX's 2 GB protobuf limit
                verbose=False,
            )
        except Exception as exc:  # the exporter raises many types; the user needs one line
            raise TinyzhError(
                f"torch.onnx.export failed for {type(module.model).__name__}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''} (rerun with --debug for the traceback)"
            ) from exc
    _strip_metadata(path)
    return path


def _strip_metadata(path: Path) -> None:
    """Drop the exporter's per-node debug metadata (stack traces, module paths: ~40% of a tiny file)."""
    import onnx

    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
    for value in model.graph.value_info:
        del value.metadata_props[:]
    onnx.save(model, str(path))


def quantize_onnx(source: Path, target: Path) -> Path:
    """Dynamic int8 quantization of ``source`` into ``target`` (weights int8, activations at run time)."""
    require("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    return target


class OnnxRunner:
    """An ONNX Runtime CPU session with a ``(input_ids, attention_mask, token_type_ids)`` call."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        require("onnxruntime")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        # Idle threads spin by default, taking the cores from whatever runs next: side-by-side
        # timings (PyTorch, other sessions) would measure that instead of the model.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        feed: dict[str, Any] = {name: t.numpy() for name, t in zip(INPUT_NAMES, inputs, strict=True)}
        (output,) = self.session.run(None, feed)
        return torch.from_numpy(output)
