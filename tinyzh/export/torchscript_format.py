"""TorchScript export with ``torch.jit.trace``, int8 with PyTorch's dynamic quantization.

A traced module runs without Python or transformers (``torch.jit.load`` in Python, or LibTorch in
C++). Int8 uses ``torch.ao.quantization.quantize_dynamic`` on every ``nn.Linear`` (int8 weights,
activations quantized per batch), the eager-mode recipe PyTorch documents for BERT on CPU. Both
APIs are marked deprecated in recent PyTorch in favour of ``torch.export`` / torchao but still work;
their warnings are hidden here. Prefer ``--format onnx`` for new deployments.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from tinyzh.errors import ConfigError, TinyzhError
from tinyzh.export.model import TensorModule


def quantize_int8(module: TensorModule) -> torch.nn.Module:
    """A copy of ``module`` whose ``nn.Linear`` layers compute in int8."""
    quantization = getattr(torch.ao, "quantization", None)
    if quantization is None or not hasattr(quantization, "quantize_dynamic"):
        raise ConfigError(
            f"this PyTorch ({torch.__version__}) has no torch.ao.quantization.quantize_dynamic; "
            "use --format onnx --quantize int8 instead"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)


def export_torchscript(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], path: Path) -> Path:
    """Trace ``module`` on ``inputs`` and save it to ``path``.

    Tracing records the ops of one call; BERT has no data-dependent branches that matter here
    (the padding check in :func:`tinyzh.export.runner.export_model` confirms other shapes work).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarning / deprecation notices, see the module docstring
        try:
            traced = torch.jit.trace(module, inputs, strict=False, check_trace=False)
        except Exception as exc:
            raise TinyzhError(
                f"torch.jit.trace failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc
        torch.jit.save(traced, str(path))
    return path


def load_torchscript(path: Path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.load(str(path), map_location="cpu").eval()
