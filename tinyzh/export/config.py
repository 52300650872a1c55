"""``ExportConfig``: what ``tinyzh export`` writes and how it measures it, validated on construction."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tinyzh.errors import ConfigError

FORMATS = ("onnx", "torchscript")
# ``int8`` tries every int8 variant of the format and keeps the fastest that passes the gate; the
# other names ask for one variant only (ONNX only).
ONNX_INT8 = ("int8-dynamic", "int8-dynamic-pc", "int8-static")
QUANTIZATIONS = {"onnx": ("int8", *ONNX_INT8), "torchscript": ("int8",)}
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


@dataclass
class ExportConfig:
    """Export ``model`` (a Hugging Face checkpoint directory) to ``format``, optionally ``quantize``d.

    ``output`` defaults to a file inside the model directory (``model.onnx``, ``model.int8.onnx``,
    ``model.pt``, ``model.int8.pt``) so the tokenizer files sit beside it. Latency is the median of
    ``runs`` forward passes of a (``batch_size``, ``seq_len``) batch on ``threads`` CPU threads
    (None: PyTorch's default), after ``warmup`` passes, every variant timed in turn within one loop.

    With ``task`` (default: the one ``tinyzh eval --save-models`` recorded) and ``data`` (a labelled dev file) each variant is scored on the dev set; an int8
    variant scoring more than ``max_drop`` points below the PyTorch fp32 model is not chosen.
    ``calibration`` (default: ``train.json`` beside ``data``) gives the rows static int8 is
    calibrated on, ``calibration_rows`` of them drawn with a fixed seed.
    """

    model: Path
    format: str = "onnx"
    quantize: str | None = None
    output: Path | None = None
    seq_len: int = 128
    batch_size: int = 1
    runs: int = 20
    warmup: int = 3
    threads: int | None = None
    opset: int = 17
    optimize: bool = True  # ONNX: ONNX Runtime's transformer fusions (attention, LayerNorm, GELU)
    task: str | None = None
    data: Path | None = None
    calibration: Path | None = None
    calibration_rows: int = 64
    max_drop: float = 1.0  # points of the task's metric (accuracy 0-100)
    max_dev_examples: int | None = None
    dev_latency_rows: int = 50  # dev rows timed one at a time for the batch-1 "real length" columns
    prune: bool = False  # keep only the embedding rows the task's files need (tinyzh prune-vocab)

    def __post_init__(self) -> None:
        self.model = Path(self.model)
        self.output = Path(self.output) if self.output is not None else None
        self.data = Path(self.data) if self.data is not None else None
        self.calibration = Path(self.calibration) if self.calibration is not None else None
        if self.task is None and self.data is not None:
            self.task = _saved_task(self.model)
        if self.prune and (self.task is None or self.data is None):
            raise ConfigError("--prune keeps the embedding rows the task's files need: give --task and --data")
        if self.prune and self.output_path.parent.resolve() == self.model.resolve():
            raise ConfigError(f"--prune writes the pruned tokenizer and config beside the output: give an --output "
                              f"outside {self.model} (its own tokenizer files must stay)")
        self._check_choices()
        self._check_numbers()
        self._check_paths()

    def _check_choices(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(
                f"--format {self.format!r} is not supported; expected one of {', '.join(FORMATS)}"
            )
        allowed = QUANTIZATIONS[self.format]
        if self.quantize is not None and self.quantize not in allowed:
            raise ConfigError(
                f"--quantize {self.quantize!r} is not supported for --format {self.format}; "
                f"expected one of {', '.join(allowed)} or no --quantize"
            )
        if (self.task is None) != (self.data is None):
            raise ConfigError("--task and --data go together: give both (a task name and its labelled dev file)")
        if self.calibration is not None and self.task is None:
            raise ConfigError("--calibration is read as the task's training file: give --task and --data too")

    def _check_numbers(self) -> None:
        for name in ("seq_len", "batch_size", "runs", "calibration_rows", "dev_latency_rows"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.warmup < 0:
            raise ConfigError(f"--warmup must be >= 0, got {self.warmup}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}")
        if self.max_drop < 0:
            raise ConfigError(f"--max-drop must be >= 0 points, got {self.max_drop}")
        if self.max_dev_examples is not None and self.max_dev_examples < 1:
            raise ConfigError(f"--max-dev-examples must be at least 1, got {self.max_dev_examples}")

    def _check_paths(self) -> None:
        if not self.model.is_dir():
            raise ConfigError(f"MODEL {self.model} is not a directory; give a saved Hugging Face checkpoint")
        if self.output is not None and self.output.suffix != SUFFIX[self.format]:
            raise ConfigError(
                f"--output {self.output} should end in {SUFFIX[self.format]} for --format {self.format}"
            )
        for option, path in (("--data", self.data), ("--calibration", self.calibration)):
            if path is not None and not path.is_file():
                raise ConfigError(f"{option} {path} is not a file; give the task's JSON-lines file")

    @property
    def output_path(self) -> Path:
        if self.output is not None:
            return self.output
        infix = ".int8" if self.quantize else ""
        return self.model / f"model{infix}{SUFFIX[self.format]}"

    @property
    def calibration_path(self) -> Path | None:
        """``calibration``, else ``train.json`` beside the dev file when there is one."""
        if self.calibration is not None:
            return self.calibration
        if self.data is not None and (self.data.parent / "train.json").is_file():
            return self.data.parent / "train.json"
        return None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("model", "data", "calibration"):
            data[name] = None if data[name] is None else str(data[name])
        data["output"] = str(self.output_path)
        return data


def _saved_task(model: Path) -> str | None:
    """The task ``tinyzh eval --save-models`` recorded beside the checkpoint (tinyzh_eval.json), if any."""
    record = model / "tinyzh_eval.json"
    if not record.is_file():
        return None
    try:
        return json.loads(record.read_text(encoding="utf-8")).get("task")
    except (json.JSONDecodeError, AttributeError):
        return None
