"""Checking every input file of an ``eval`` run before the first training step.

A bad label in the second task's dev file should not wait for the first task to fine-tune. So the
run reads each file it will use (train unless ``--no-train``, dev, and test when present, each up to
its ``--max-*-examples`` limit) once, up front, and stops on the first problem:

* anything the task's reader rejects (malformed JSON, a bad label, a file that is not UTF-8, …);
* a file that holds no examples (an empty ``test.json`` would give an empty submission);
* in a test file: a duplicate id, or rows with an id mixed with rows without one (the submission
  would pair predictions with the wrong rows).

Rows with an empty text are not fatal (a test row must still be predicted) but are counted in a
warning that the pair results keep. Usage::

    warnings = check_inputs(config, tasks, task_dirs)     # {task name: [warning, ...]}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tinyzh.errors import InputError, PluginError
from tinyzh.evaluate.config import EvalConfig
from tinyzh.protocols import Task, TaskExample
from tinyzh.tasks.data import iter_split

DEFAULT_ID_FIELDS = ("id", "idx")


def split_files(config: EvalConfig, task_dir: Path) -> list[tuple[str, Path, int | None]]:
    """``(split, path, limit)`` of each file the run reads for one task, the test file only if present."""
    files = [] if config.no_train else [("train", task_dir / config.train_file, config.max_train_examples)]
    files.append(("dev", task_dir / config.dev_file, config.max_dev_examples))
    test = task_dir / config.test_file
    if test.is_file():
        files.append(("test", test, config.max_test_examples))
    return files


def check_inputs(config: EvalConfig, tasks: Iterable[Task], task_dirs: Mapping[str, Path]) -> dict[str, list[str]]:
    """Read every input of the run; raise ``InputError`` on the first problem, return the warnings."""
    warnings: dict[str, list[str]] = {}
    for task in tasks:
        warnings[task.name] = []
        for split, path, limit in split_files(config, task_dirs[task.name]):
            warnings[task.name] += check_split(task, path, split, limit)
    return warnings


def check_split(task: Task, path: Path, split: str, limit: int | None = None) -> list[str]:
    """One file's problems: errors are raised, warnings returned (see the module docstring)."""
    ids = TestIds(task, path) if split == "test" else None
    count, empty = 0, []
    for example in iter_split(path, task, split):
        if limit is not None and count >= limit:
            break
        count += 1
        if len(example.texts) not in (1, 2):  # features.encode_examples takes one text or a pair
            raise PluginError(f"task {task.name!r} read {len(example.texts)} texts from {path}:{example.line}; "
                              "a task gives 1 or 2 (check its text_fields)")
        if ids is not None:
            ids.add(example)
        if any(not text.strip() for text in example.texts):
            empty.append(example.line)
    if count == 0:
        raise InputError(
            f"holds no {task.name} examples; fill it{' or remove it (the test file is optional)' if split == 'test' else ''}",
            path,
        )
    if not empty:
        return []
    shown = ", ".join(map(str, empty[:5])) + (" …" if len(empty) > 5 else "")
    return [f"{path}: {len(empty)} of {count} {split} rows have an empty text (lines {shown}); "
            "they are kept, but check the file"]


class TestIds:
    """The ids of a test file: each must be unique, and either every row names one or none does."""

    def __init__(self, task: Task, path: Path) -> None:
        self.path = path
        self.fields = tuple(getattr(task, "id_fields", DEFAULT_ID_FIELDS))
        self.seen: dict[str, int] = {}  # id (as JSON) -> line
        self.with_id: int | None = None  # a line whose row names its id
        self.without_id: int | None = None  # a line whose row does not

    def add(self, example: TaskExample) -> None:
        named = any(f in example.record and example.record[f] is not None for f in self.fields)
        if named:
            self.with_id = self.with_id or example.line
        else:
            self.without_id = self.without_id or example.line
        if self.with_id is not None and self.without_id is not None:
            raise InputError(
                f"this row has no id ({' or '.join(self.fields)}) but line {self.with_id} has one; give every "
                "test row its id so predictions pair with the right rows",
                self.path,
                self.without_id,
            )
        key = _key(example.id)
        if key in self.seen:
            raise InputError(
                f"duplicate test id {example.id!r} (also on line {self.seen[key]}); test ids must be unique",
                self.path,
                example.line,
            )
        self.seen[key] = example.line


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
