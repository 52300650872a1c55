"""The one way library code reports: progress, metrics and messages go to a :class:`Reporter`.

The library never prints and never imports rich. Commands pass a reporter: a rich one
(``tinyzh/commands/reporting.py``), a :class:`TensorBoardReporter` (``--report-to tensorboard``),
or several at once through :class:`Reporters`. Every method has a do-nothing default, so a reporter
overrides only what it shows, and the base class itself is the silent reporter. Usage::

    reporter = Reporters([RichReporter(console), TensorBoardReporter(out / "tensorboard")])
    reporter.progress("distill general", 120, total=1000, info={"loss": 3.2})
    reporter.metrics("general", 120, {"loss": 3.2, "hidden_1": 0.4, "lr": 9e-5, "samples_per_s": 12.3})
    reporter.message("tnews: 3 unlabelled rows skipped")
    reporter.close()

Metric groups are the phase or stage (``general``, ``intermediate``, ``prediction``, ``eval``, …);
TensorBoard shows each value as ``group/name``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from tinyzh.errors import ConfigError

REPORT_TO = ("none", "tensorboard")
TENSORBOARD_DIR = "tensorboard"  # under a command's --output


class Reporter:
    """Progress, metrics and messages of a run; this base class drops them all."""

    def message(self, text: str) -> None:
        """A one-line note for the user (a warning, a skipped step)."""

    def progress(self, name: str, completed: float, total: float | None = None,
                 info: Mapping[str, Any] | None = None) -> None:
        """``completed`` of ``total`` units of the task ``name`` are done (a bar; ``info``: figures beside it)."""

    def metrics(self, group: str, step: int, values: Mapping[str, float]) -> None:
        """Scalars at a training step: every loss term, the learning rate, samples/s, dev scores."""

    def close(self) -> None:
        """The run is over: flush files, stop bars."""


class Reporters(Reporter):
    """Several reporters as one."""

    def __init__(self, reporters: Iterable[Reporter]) -> None:
        self.reporters = list(reporters)

    def message(self, text: str) -> None:
        for reporter in self.reporters:
            reporter.message(text)

    def progress(self, name: str, completed: float, total: float | None = None,
                 info: Mapping[str, Any] | None = None) -> None:
        for reporter in self.reporters:
            reporter.progress(name, completed, total, info)

    def metrics(self, group: str, step: int, values: Mapping[str, float]) -> None:
        for reporter in self.reporters:
            reporter.metrics(group, step, values)

    def close(self) -> None:
        for reporter in self.reporters:
            reporter.close()


def ticker(reporter: Reporter, name: str, total: int) -> Callable[[int], None]:
    """``tick(n)``: ``n`` more units of ``name`` done (for loops that count rather than know a position)."""
    done = 0
    reporter.progress(name, 0, total)

    def tick(n: int) -> None:
        nonlocal done
        done += n
        reporter.progress(name, done, total)

    return tick


class TensorBoardReporter(Reporter):
    """Writes every metric as a TensorBoard scalar (``group/name``) to event files under ``log_dir``.

    ``tensorboard`` is an optional extra (``pip install 'tinyzh[tensorboard]'``); without it this fails
    before the run starts, not at the first logged step.
    """

    def __init__(self, log_dir: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--report-to tensorboard needs the tensorboard package: "
                              "pip install 'tinyzh[tensorboard]' (or pip install tensorboard)") from None
        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def metrics(self, group: str, step: int, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                self.writer.add_scalar(f"{group}/{name}", float(value), step)

    def message(self, text: str) -> None:
        self.writer.add_text("messages", text)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def parse_report_to(values: str | Iterable[str] | None) -> list[str]:
    """``--report-to``: a comma list (or list) of ``REPORT_TO`` names; ``none`` alone means nothing."""
    items = values.split(",") if isinstance(values, str) else list(values or [])
    names = [v.strip().lower() for v in items if v.strip()]
    for name in names:
        if name not in REPORT_TO:
            raise ConfigError(f"--report-to {name!r} is not a reporter; expected one of {', '.join(REPORT_TO)}")
    return [n for n in names if n != "none"]


def file_reporters(report_to: str | Iterable[str] | None, output: str | Path,
                   subdir: str = TENSORBOARD_DIR) -> list[Reporter]:
    """The reporters that write files for ``--report-to`` (TensorBoard: ``output/subdir``)."""
    reporters: list[Reporter] = []
    for name in parse_report_to(report_to):
        if name == "tensorboard":
            reporters.append(TensorBoardReporter(Path(output) / subdir))
    return reporters
