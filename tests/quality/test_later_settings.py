"""Settings added to ``quality.py`` after runs were made (the prediction step's hard-label weight and
temperature, both stages' hidden loss): set, they reach their recipe stages; unset, a run records and plans exactly what it did
before, so earlier runs still resume and are still reused."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from quality_setup import LATER_SETTINGS, QualityConfig, QualitySize, recorded_settings
from quality_stages import recipe_overrides

from tinyzh.recipe import load_recipe
from tinyzh.recipe.runner import plan


def _config(tmp_path: Path, **overrides: object) -> QualityConfig:
    return QualityConfig(data=tmp_path, output=tmp_path / "work", size="tiny", overrides=dict(overrides))


def _overrides(size: QualitySize, tmp_path: Path) -> list[str]:
    return recipe_overrides(size, "tnews", tmp_path, tmp_path / "vocab", None, tmp_path / "out", 0)


def test_unset_they_are_neither_recorded_nor_planned(tmp_path: Path) -> None:
    config = _config(tmp_path)
    settings = config.to_dict()["settings"]
    assert not set(LATER_SETTINGS) & set(settings)
    assert settings == {k: v for k, v in asdict(config.shape).items() if k not in LATER_SETTINGS}
    assert not any(name in o for name in LATER_SETTINGS for o in _overrides(config.shape, tmp_path))


def test_set_they_are_recorded_and_reach_the_prediction_step(tmp_path: Path) -> None:
    config = _config(tmp_path, hard_label_weight=0.5, temperature=2.0, hidden_loss="normalised")
    assert config.to_dict()["settings"] == recorded_settings(config.shape) == asdict(config.shape)
    planned = _overrides(config.shape, tmp_path)
    assert "distill_task.hard_label_weight=0.5" in planned and "distill_task.temperature=2.0" in planned
    assert {'distill_general.hidden_loss="normalised"', 'distill_task.hidden_loss="normalised"'} <= set(planned)
    (tmp_path / "tnews").mkdir()  # the recipe plans them into tinyzh distill's options
    steps = plan(load_recipe("quality-best", planned + ['student="s"', 'teacher="t"']))
    configs = {step.name: step.plan.config for step in steps if step.name.startswith("distill")}
    task = configs["distill_task"]
    assert (task.hard_label_weight, task.temperature, task.hidden_loss) == (0.5, 2.0, "normalised")
    assert configs["distill_general"].hidden_loss == "normalised"
    assert configs["distill_general"].hard_label_weight == 0.0  # the prediction step's settings stay there
