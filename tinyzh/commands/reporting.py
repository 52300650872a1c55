"""The rich side of the reporting seam: bars and messages on the terminal (rich lives only here).

``RichReporter`` draws one bar per progress name, with its ``info`` figures beside it, and prints
messages above the bars. ``command_reporter`` adds the ``--report-to`` file reporters.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from tinyzh.report import Reporter, Reporters, file_reporters


def format_info(info: Mapping[str, Any]) -> str:
    """``loss 3.21  emb 0.2  12.3 samples/s``: numbers short, names before them (rates after)."""
    parts = []
    for key, value in info.items():
        text = f"{value:,.4g}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)
        parts.append(f"{text} {key}" if key.endswith("/s") else f"{key} {text}")
    return "  ".join(parts)


class RichReporter(Reporter):
    """Bars (one per progress name) and yellow messages on ``console``; ``transient`` bars vanish when done."""

    def __init__(self, console: Console | None = None, *, transient: bool = False, show_bars: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self.show_bars = show_bars
        self.bars = Progress(TextColumn("[bold]{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                             TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                             console=self.console, transient=transient)
        self.tasks: dict[str, TaskID] = {}
        self.started = time.perf_counter()
        self.live = False

    def message(self, text: str) -> None:
        self.console.print(f"[dim]{time.perf_counter() - self.started:6.1f}s[/] [yellow]{escape(text)}[/]",
                           highlight=False)

    def progress(self, name: str, completed: float, total: float | None = None,
                 info: Mapping[str, Any] | None = None) -> None:
        if not self.show_bars:
            return
        if not self.live:
            self.bars.start()
            self.live = True
        text = format_info(info or {})
        if name not in self.tasks:
            self.tasks[name] = self.bars.add_task(escape(name), total=total, completed=completed, info=text)
        else:
            self.bars.update(self.tasks[name], completed=completed, total=total, info=text)

    def close(self) -> None:
        if self.live:
            self.bars.stop()
            self.live = False


def command_reporter(console: Console | None, report_to: str | None, output: str | Path, *,
                     bars: bool = True, transient: bool = False) -> Reporter:
    """The terminal reporter plus the file reporters ``--report-to`` asks for (under ``output``)."""
    return Reporters([RichReporter(console, transient=transient, show_bars=bars), *file_reporters(report_to, output)])
