"""Finding a task's files under a data directory and reading a split in one call.

Layout: ``DATA_DIR/<dir name>/{train,dev,test}.json`` where the directory name is any of the
task's ``dir_names`` (``tnews``, ``tnews_public``; FewCLUE's ``cluewsc`` for CLUEWSC2020).
A ``DATA_DIR`` that already *is* the task directory (holds train.json) is accepted too. Usage::

    directory = find_task_dir("clue", task)                   # clue/tnews
    examples = load_split(directory / "train.json", task, "train", limit=1000)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from tinyzh.errors import InputError
from tinyzh.protocols import Task, TaskExample
from tinyzh.tasks.base import first_bad_utf8


def find_task_dir(data_dir: str | Path, task: Task) -> Path:
    """The first of ``task.dir_names`` present under ``data_dir``; ``InputError`` listing them if none."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError("data directory not found (give --data-dir the folder holding the task folders)", data_dir)
    found = task_dir_or_none(data_dir, task.dir_names)
    if found is not None:
        return found
    raise InputError(
        f"no {task.name} folder; expected one of {', '.join(task.dir_names)} holding train.json/dev.json/test.json",
        data_dir,
    )


def task_dir_or_none(data_dir: Path, dir_names: Sequence[str]) -> Path | None:
    """A task's folder: ``data_dir/<one of dir_names>``, or ``data_dir`` itself when it is named so."""
    for name in dir_names:
        if (data_dir / name).is_dir():
            return data_dir / name
    return data_dir if data_dir.name in dir_names else None


ALL_TASKS = "all"


def expand_tasks(tasks: str | Sequence[str], data_dir: str | Path) -> tuple[list[str], list[str]]:
    """``--tasks``: a comma list (or list) of names as given, or ``all``: every installed task whose
    folder :func:`find_task_dir` would find under ``data_dir``. Returns (names, warnings)."""
    from tinyzh.errors import ConfigError

    items = tasks.split(",") if isinstance(tasks, str) else list(tasks)
    names = [t.strip().lower() for t in items if t.strip()]
    if names != [ALL_TASKS]:
        if not names:
            raise ConfigError(f"--tasks {tasks!r} names no task; e.g. --tasks afqmc,tnews or --tasks all")
        if ALL_TASKS in names:
            raise ConfigError(f"--tasks {tasks!r}: 'all' stands alone; give either all or task names")
        return names, []
    found, warnings = tasks_in(data_dir)
    if not found:
        raise ConfigError(f"--tasks all: no task folder (afqmc, tnews, …) found under {data_dir}")
    return found, warnings


def iter_split(path: str | Path, task: Task, split: str) -> Iterator[TaskExample]:
    """``task.read_examples`` with a file that is not UTF-8 reported as one line (file, line, fix),
    also for plugins that open files themselves."""
    try:
        yield from task.read_examples(path, split)
    except UnicodeDecodeError as exc:
        error = first_bad_utf8(Path(path))
        if error is None:  # the plugin decoded something else; say so plainly
            error = InputError(f"{task.name} could not decode the file ({exc.reason}); convert it to UTF-8", path)
        raise error from None


def load_split(path: str | Path, task: Task, split: str, limit: int | None = None) -> list[TaskExample]:
    """The examples of one file (the first ``limit`` when given), in file order."""
    examples: list[TaskExample] = []
    for example in iter_split(path, task, split):
        if limit is not None and len(examples) >= limit:
            break
        examples.append(example)
    return examples


def tasks_in(data_dir: str | Path) -> tuple[list[str], list[str]]:
    """``--tasks all``: the installed tasks with a folder under ``data_dir``, and warnings.

    A broken task plugin is never skipped silently: with a folder of its own (its entry-point name or
    one of its ``dir_names``) under ``data_dir`` it is an error, else it is skipped with a warning.
    """
    from tinyzh import plugins
    from tinyzh.errors import PluginError

    data_dir = Path(data_dir)
    found, warnings = [], []
    registry = plugins.registry("tasks")
    for name in registry.names():
        try:
            task = plugins.get_task(name)
        except PluginError as exc:
            if task_dir_or_none(data_dir, (name, *_declared_dirs(registry, name))) is not None:
                raise PluginError(f"--tasks all: {exc}; fix or uninstall the plugin, or name the tasks to run") from exc
            warnings.append(f"--tasks all: skipped a broken task plugin ({exc}); `tinyzh plugins --check` lists it")
            continue
        if task_dir_or_none(data_dir, task.dir_names) is not None:
            found.append(name)
    return found, warnings


def _declared_dirs(registry: object, name: str) -> tuple[str, ...]:
    """The ``dir_names`` a broken task's class declares, when it imports at all."""
    try:
        dirs = getattr(registry.factory(name), "dir_names", ())  # type: ignore[attr-defined]
    except Exception:  # the import itself failed: only the entry-point name is known
        return ()
    return tuple(d for d in dirs if isinstance(d, str)) if isinstance(dirs, (tuple, list)) else ()
