"""Errors a user can cause. The CLI edge turns each into one red line and exit code 1.

Messages say what was found, what was expected and how to fix it; where a file is involved
they name it (and the line, 1-based) so the user can go straight there.
"""

from __future__ import annotations

from pathlib import Path


class TinyzhError(Exception):
    """Base class for every error meant for a user rather than a developer."""


class ConfigError(TinyzhError):
    """A bad option or configuration value."""


class InputError(TinyzhError):
    """A problem in a user's input file, optionally pinned to a line."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")


class PluginError(TinyzhError):
    """An unknown, broken or clashing plugin."""


class OutputError(TinyzhError):
    """An output that cannot be written: a full disk, a read-only place, a file where a folder belongs."""


class OutputLocked(OutputError):
    """Another run is writing the same output."""
