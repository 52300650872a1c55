"""Reading a task file in chunks of lines, so that a bad line is reported and the rest goes on.

The Task protocol only reads whole files (``read_examples`` raises ``InputError`` at the first bad
line and stops). To keep going, a chunk's lines are written to a scratch file and read through the
task; when it raises at a line, that line is reported and reading restarts after it. Lines the task
skips without an error (OCNLI's "-" rows, which have no gold label) are reported too, so no input
line disappears without a trace. Examples whose texts are empty are reported as well.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyzh.errors import InputError
from tinyzh.protocols import TaskExample

Line = tuple[int, str]  # (1-based line number in the input file, raw text)


@dataclass(frozen=True)
class BadLine:
    line: int
    message: str
    skipped: bool = False  # True: the task dropped the row on purpose (no error), e.g. no gold label


def parse_lines(task: Any, lines: Sequence[Line], split: str, scratch: Path) -> tuple[list[TaskExample], list[BadLine]]:
    """The chunk's examples (``line`` = input line) and its bad or skipped lines."""
    examples: list[TaskExample] = []
    bad: list[BadLine] = []
    pending = [(n, text) for n, text in lines if text.strip()]
    while pending:
        scratch.write_text("".join(text if text.endswith("\n") else text + "\n" for _, text in pending), encoding="utf-8")
        failed_at = _read_until_error(task, scratch, split, pending, examples, bad)
        if failed_at is None:
            break
        pending = pending[failed_at:]  # the lines after the bad one
    seen = {ex.line for ex in examples} | {b.line for b in bad}
    for n, text in lines:
        if text.strip() and n not in seen:
            bad.append(BadLine(n, f"skipped: task {task.name!r} drops this row without an error "
                                  "(OCNLI and CMNLI drop rows labelled '-', which have no gold label)", skipped=True))
    good = []
    for ex in examples:
        empty = [i + 1 for i, t in enumerate(ex.texts) if not t.strip()]
        if empty:
            bad.append(BadLine(ex.line, f"empty text ({_field_names(task, empty)}); nothing to augment"))
        else:
            good.append(ex)
    bad.sort(key=lambda b: b.line)
    return good, bad


def _read_until_error(
    task: Any, scratch: Path, split: str, pending: Sequence[Line], examples: list[TaskExample], bad: list[BadLine]
) -> int | None:
    """Read ``scratch`` (= ``pending``'s lines) into ``examples``; the count of lines consumed on an error."""
    try:
        for ex in task.read_examples(scratch, split):
            examples.append(dataclasses.replace(ex, line=pending[ex.line - 1][0]))
    except InputError as exc:
        if exc.line is None or not 1 <= exc.line <= len(pending):
            # An error not pinned to a line: blame the first line not yet read, and go on after it.
            done = {ex.line for ex in examples}
            first = next(i for i, (n, _) in enumerate(pending) if n not in done)
            bad.append(BadLine(pending[first][0], _bare_message(exc)))
            return first + 1
        bad.append(BadLine(pending[exc.line - 1][0], _bare_message(exc)))
        return exc.line
    return None


def _bare_message(exc: InputError) -> str:
    """The error's message without the scratch file's ``path:line:`` prefix."""
    text = str(exc)
    if exc.path is not None:
        prefix = f"{exc.path}:{exc.line}: " if exc.line is not None else f"{exc.path}: "
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def _field_names(task: Any, numbers: list[int]) -> str:
    names = getattr(task, "text_fields", ())
    if len(names) >= max(numbers):
        return ", ".join(repr(names[i - 1]) for i in numbers)
    return "text " + ", ".join(map(str, numbers))


def scratch_file(directory: str | None = None) -> Path:
    """A fresh scratch path in a private temporary directory (removed with the process' temp dir)."""
    return Path(tempfile.mkdtemp(prefix="tinyzh-augment-", dir=directory)) / "chunk.json"
