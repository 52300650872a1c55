"""Keys added to a stage later enter its settings only when set, so a run made before them is still up to
date (its fingerprint unchanged) and ``--resume`` of a long run does not redo finished stages."""

from __future__ import annotations

from pathlib import Path

from tinyzh.recipe import load_recipe
from tinyzh.recipe.runner import plan


def _settings(recipe: str, tmp_path: Path, *overrides: str) -> dict[str, dict]:
    steps = plan(load_recipe(recipe, [f'output="{tmp_path / "run"}"', *overrides]))
    return {step.name: step.plan.settings for step in steps}


def test_unset_new_keys_leave_the_settings_as_before(tmp_path: Path) -> None:
    settings = _settings("demo", tmp_path, "distill_task.unlabeled=false", "pretrain.dropout=0.1")
    assert "unlabeled" not in settings["distill_task"]
    assert settings["pretrain"]["dropout"] == 0.1
    plain = _settings("demo-tiny", tmp_path, "distill_task.unlabeled=false")
    assert "max_unlabeled" in plain["data"]  # demo-tiny sets it
    bare = _settings("demo", tmp_path, "distill_task.unlabeled=false")
    assert "max_unlabeled" not in bare["data"]


def test_set_keys_are_in_the_settings(tmp_path: Path) -> None:
    settings = _settings("demo", tmp_path, "distill_task.unlabeled=true")
    assert settings["distill_task"]["unlabeled"].endswith("unlabeled.json")


def test_a_pretrain_table_without_dropout_has_no_dropout_setting(tmp_path: Path) -> None:
    settings = _settings("quality-best", tmp_path, 'corpus=["c.txt"]')
    assert "dropout" not in settings["pretrain"] and "unlabeled" not in settings["distill_task"]
