"""``ExportConfig``: what ``tinyzh export`` writes and how it measures it, validated on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tinyzh.errors import ConfigError

FORMATS = ("onnx", "torchscript")
QUANTIZATIONS = ("int8",)
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


@dataclass
class ExportConfig:
    """Export ``model`` (a Hugging Face checkpoint directory) to ``format``, optionally ``quantize``d.

    ``output`` defaults to a file inside the model directory (``model.onnx``, ``model.int8.onnx``,
    ``model.pt``, ``model.int8.pt``) so the tokenizer files sit beside it. Latency is the median of
    ``runs`` forward passes of a (``batch_size``, ``seq_len``) batch on ``threads`` CPU threads
    (None: PyTorch's default), after ``warmup`` passes.
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
    opset: int = 18

    def __post_init__(self) -> None:
        self.model = Path(self.model)
        self.output = Path(self.output) if self.output is not None else None
        if self.format not in FORMATS:
            raise ConfigError(
                f"--format {self.format!r} is not supported; expected one of {', '.join(FORMATS)}"
            )
        if self.quantize is not None and self.quantize not in QUANTIZATIONS:
            raise ConfigError(
                f"--quantize {self.quantize!r} is not supported; expected {', '.join(QUANTIZATIONS)} or no --quantize"
            )
        for name in ("seq_len", "batch_size", "runs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.warmup < 0:
            raise ConfigError(f"--warmup must be >= 0, got {self.warmup}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}")
        if not self.model.is_dir():
            raise ConfigError(f"MODEL {self.model} is not a directory; give a saved Hugging Face checkpoint")
        if self.output is not None and self.output.suffix != SUFFIX[self.format]:
            raise ConfigError(
                f"--output {self.output} should end in {SUFFIX[self.format]} for --format {self.format}"
            )

    @property
    def output_path(self) -> Path:
        if self.output is not None:
            return self.output
        infix = f".{self.quantize}" if self.quantize else ""
        return self.model / f"model{infix}{SUFFIX[self.format]}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = str(self.model)
        data["output"] = str(self.output_path)
        return data
