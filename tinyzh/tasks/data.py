"""Finding a task's files under a data directory and reading a split in one call.

Layout: ``DATA_DIR/<dir name>/{train,dev,test}.json`` where the directory name is any of the
task's ``dir_names`` (``tnews``, ``tnews_public``; FewCLUE's ``cluewsc`` for CLUEWSC2020).
A ``DATA_DIR`` that already *is* the task directory (holds train.json) is accepted too. Usage::

    directory = find_task_dir("clue", task)                   # clue/tnews
    examples = load_split(directory / "train.json", task, "train", limit=1000)
"""

from __future__ import annotations

from pathlib import Path

from tinyzh.errors import InputError
from tinyzh.protocols import Task, TaskExample


def find_task_dir(data_dir: str | Path, task: Task) -> Path:
    """The first of ``task.dir_names`` present under ``data_dir``; ``InputError`` listing them if none."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError("data directory not found (give --data-dir the folder holding the task folders)", data_dir)
    for name in task.dir_names:
        if (data_dir / name).is_dir():
            return data_dir / name
    if data_dir.name in task.dir_names:
        return data_dir
    raise InputError(
        f"no {task.name} folder; expected one of {', '.join(task.dir_names)} holding train.json/dev.json/test.json",
        data_dir,
    )


def load_split(path: str | Path, task: Task, split: str, limit: int | None = None) -> list[TaskExample]:
    """The examples of one file (the first ``limit`` when given), in file order."""
    examples: list[TaskExample] = []
    for example in task.read_examples(path, split):
        if limit is not None and len(examples) >= limit:
            break
        examples.append(example)
    return examples
