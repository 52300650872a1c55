"""Deployable students: fused ONNX or TorchScript files, int8 chosen by a dev-accuracy gate.

Usage::

    from tinyzh.export import ExportConfig, export_model
    config = ExportConfig(Path("student"), quantize="int8", task="tnews", data=Path("tnews/dev.json"))
    report = export_model(config)
    for row in report.rows:                 # pytorch, onnx unfused, onnx, onnx int8 dynamic, ...
        print(row.variant, row.size_bytes, row.latency_ms, row.dev_delta, row.note)
    report.chosen, report.output            # the variant kept and where it was written
"""

from __future__ import annotations

from tinyzh.export.config import ExportConfig
from tinyzh.export.runner import ExportReport, Measurement, export_model

__all__ = ["ExportConfig", "ExportReport", "Measurement", "export_model"]
