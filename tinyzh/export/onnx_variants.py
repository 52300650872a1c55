"""The fast ONNX variants: a graph ONNX Runtime can fuse, its fusions, and three int8 recipes.

- :func:`export_fusable` writes the graph with PyTorch's TorchScript-based exporter
  (``dynamo=False``) from a model loaded with eager attention: ONNX Runtime's fusion patterns match
  that graph (``Attention``, ``EmbedLayerNormalization``, ``SkipLayerNormalization``, ``BiasGelu``
  for BERT, ERNIE and XLM-R alike), while the ``torch.export`` graph of the same model only gets
  its LayerNorm and GELU fused.
- :func:`optimize` runs ``onnxruntime.transformers.optimizer.optimize_model`` and returns the
  fused-operator counts.
- :func:`quantize_dynamic` (int8 weights, activations quantised at run time; per tensor or per
  output channel) works on the fused graph, embedding included (``QEmbedLayerNormalization``).
- :func:`quantize_static` (activation ranges calibrated once on real rows, ``QLinearMatMul`` and
  an int8 ``Gather``) works on the unfused graph: ONNX Runtime 1.2x-1.3x's calibrator records no
  range for the outputs of fused contrib operators and its quantiser then fails.

ONNX Runtime's guide: https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from tinyzh.errors import TinyzhError
from tinyzh.export.model import INPUT_NAMES, TensorModule
from tinyzh.export.onnx_format import _quiet, require

Feed = dict[str, np.ndarray]  # one ONNX Runtime input: name -> (B, T) int64
DEFAULT_TENSOR_TYPE = {"DefaultTensorType": 1}  # float: fused contrib ops have no inferred output type


def export_fusable(module: TensorModule, inputs: tuple[torch.Tensor, ...], path: Path, opset: int) -> Path:
    """Write ``module`` (loaded with ``attn_implementation="eager"``) with the TorchScript exporter."""
    require("onnx", "onnxruntime")
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    with _quiet():
        try:
            torch.onnx.export(
                module,
                inputs,
                str(path),
                input_names=list(INPUT_NAMES),
                output_names=[module.output_name],
                dynamic_axes=axes | {module.output_name: {0: "batch"}},
                opset_version=opset,
                dynamo=False,
            )
        except Exception as exc:  # the exporter raises many types; the user needs one line
            raise TinyzhError(
                f"the TorchScript ONNX exporter failed for {type(module.model).__name__}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
                "retry with --no-optimize (torch.export-based exporter, no fusions)"
            ) from exc
    return path


def optimize(source: Path, target: Path, num_heads: int, hidden_size: int) -> dict[str, int]:
    """ONNX Runtime's BERT fusions of ``source`` into ``target``; returns {fused op: count} (non-zero)."""
    require("onnxruntime")
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet():
        model = optimize_model(str(source), model_type="bert", num_heads=num_heads, hidden_size=hidden_size)
        model.save_model_to_file(str(target))
    return {name: count for name, count in model.get_fused_operator_statistics().items() if count}


def quantize_dynamic(source: Path, target: Path, per_channel: bool = False) -> Path:
    """int8 weights of MatMul / Attention / embeddings; activations quantised per call."""
    require("onnxruntime")
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as ort_quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        ort_quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            extra_options=DEFAULT_TENSOR_TYPE,
        )
    return target


def quantize_static(source: Path, target: Path, feeds: Iterable[Feed]) -> Path:
    """int8 MatMul and embedding Gather with activation ranges calibrated (min/max) on ``feeds``."""
    require("onnxruntime")
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self, rows: Iterator[Feed]) -> None:
            self.rows = rows

        def get_next(self) -> Feed | None:
            return next(self.rows, None)

    target.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        ort_quantize_static(
            str(source),
            str(target),
            Reader(iter(feeds)),
            quant_format=QuantFormat.QOperator,  # QDQ ran 2x slower than QOperator on AVX2 CPUs here
            op_types_to_quantize=["MatMul", "Gather"],
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            # ORT keeps every calibrated activation of every row until the end (its
            # CalibMaxIntermediateOutputs drops rows instead of folding them), so rows are few and short
            extra_options=DEFAULT_TENSOR_TYPE,
        )
    return target


def feed_of(inputs: tuple[torch.Tensor, ...]) -> Feed:
    """``(input_ids, attention_mask, token_type_ids)`` tensors as an ONNX Runtime feed."""
    return {name: t.numpy() for name, t in zip(INPUT_NAMES, inputs, strict=True)}
