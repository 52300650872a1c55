"""The recipe's ``task_teacher``: an already fine-tuned teacher for the task stages when ``finetune`` is off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.demo.test_data import DEMO_ENTRY_POINT
from tinyzh import plugins
from tinyzh.errors import ConfigError
from tinyzh.recipe import load_recipe
from tinyzh.recipe.stages import build_plans


@pytest.fixture(autouse=True)
def _demo_task():
    with plugins.use_entry_points(DEMO_ENTRY_POINT):
        yield


def _plans(tmp_path: Path, *overrides: str) -> dict:
    recipe = load_recipe("demo-tiny", [f'output="{tmp_path}"', *overrides])
    return {plan.name: plan for plan in build_plans(recipe)}


def test_task_teacher_teaches_distill_task_and_is_scored_when_finetune_is_off(tmp_path: Path) -> None:
    plans = _plans(tmp_path, "finetune.enabled=false", 'task_teacher="/models/tuned"')
    assert "finetune" not in plans
    assert plans["distill_task"].config.teacher == "/models/tuned"
    assert plans["distill_general"].config.teacher == str(tmp_path / "teacher-mlm")  # the general teacher stays
    assert [(m.name, m.path) for m in plans["eval"].config.models] == [
        ("student", str(tmp_path / "student")), ("teacher", "/models/tuned")]


def test_finetune_output_replaces_task_teacher_when_it_runs(tmp_path: Path) -> None:
    plans = _plans(tmp_path, 'task_teacher="/models/tuned"')
    tuned = str(tmp_path / "finetune" / "teacher" / "models" / "demo-products")
    assert plans["distill_task"].config.teacher == tuned


def test_task_teacher_must_be_a_string(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="task_teacher \\(from --set\\): expected a string, got 3"):
        load_recipe("demo-tiny", [f'output="{tmp_path}"', "task_teacher=3"])
