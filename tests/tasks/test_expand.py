"""``--tasks``: one expansion that agrees with ``find_task_dir``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tasks import clue_files
from tinyzh.errors import ConfigError
from tinyzh.plugins import get_task
from tinyzh.tasks.data import expand_tasks, find_task_dir


def test_all_finds_what_find_task_dir_finds(tmp_path: Path) -> None:
    root = clue_files.write_clue(tmp_path / "clue", ["tnews", "afqmc"])
    assert sorted(expand_tasks("all", root)[0]) == ["afqmc", "tnews"]
    # --data-dir pointing at the task folder itself works for a named task, so it must for `all` too
    names, _ = expand_tasks("all", root / "tnews")
    assert names == ["tnews"]
    assert find_task_dir(root / "tnews", get_task("tnews")) == root / "tnews"


def test_a_comma_list_is_kept_in_order(tmp_path: Path) -> None:
    assert expand_tasks(" TNEWS, afqmc ,", tmp_path) == (["tnews", "afqmc"], [])
    assert expand_tasks(["ocnli"], tmp_path) == (["ocnli"], [])


@pytest.mark.parametrize(("tasks", "message"), [(",", "names no task"), ("all,tnews", "stands alone"),
                                                 ("all", "no task folder")])
def test_bad_task_lists(tmp_path: Path, tasks: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        expand_tasks(tasks, tmp_path)
