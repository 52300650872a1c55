"""Deployable students: ONNX or TorchScript files, optionally int8, checked against PyTorch.

Usage::

    from tinyzh.export import ExportConfig, export_model
    report = export_model(ExportConfig(Path("student"), format="onnx", quantize="int8"))
    for row in report.rows:                 # pytorch, onnx, onnx int8
        print(row.variant, row.size_bytes, row.latency_ms, row.max_abs_diff)
"""

from __future__ import annotations

from tinyzh.export.config import ExportConfig
from tinyzh.export.runner import ExportReport, Measurement, export_model

__all__ = ["ExportConfig", "ExportReport", "Measurement", "export_model"]
