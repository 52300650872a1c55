"""Parsing a chunk of task-file lines so that a bad line is reported and the rest goes on.

Each line goes through the task plugin's ``parse_line``: an ``InputError`` becomes a reported bad
line, a ``None`` (a row the task skips on purpose, such as OCNLI's "-" rows, which have no gold
label) is reported as skipped, and examples whose texts are empty are reported too, so no input line
disappears without a trace.
"""

from __future__ import annotations

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


def parse_lines(task: Any, lines: Sequence[Line], split: str, path: Path) -> tuple[list[TaskExample], list[BadLine]]:
    """The chunk's examples (``line`` = input line) and its bad or skipped lines, in line order."""
    examples: list[TaskExample] = []
    bad: list[BadLine] = []
    for number, text in lines:
        if not text.strip():
            continue
        try:
            # index: the id of a row without one; augment writes records, so the line number will do.
            example = task.parse_line(text, split, path=path, line=number, index=number - 1)
        except InputError as exc:
            bad.append(BadLine(number, _bare_message(exc)))
            continue
        if example is None:
            bad.append(BadLine(number, f"skipped: task {task.name!r} skips this row on purpose (a header, or "
                                       "OCNLI/CMNLI's '-' label, which has no gold label)", skipped=True))
            continue
        empty = [i + 1 for i, t in enumerate(example.texts) if not t.strip()]
        if empty:
            bad.append(BadLine(number, f"empty text ({_field_names(task, empty)}); nothing to augment"))
        else:
            examples.append(example)
    return examples, bad


def _bare_message(exc: InputError) -> str:
    """The error's message without its ``path:line:`` prefix (the report adds its own)."""
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
