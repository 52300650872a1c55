"""Settings added to ``quality.py`` after runs were made (the prediction step's hard-label weight,
temperature, epochs and lr, both stages' hidden loss): set, they reach their recipe stages; unset, a run records and plans exactly what it did
before, so earlier runs still resume and are still reused."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
from quality_setup import LATER_SETTINGS, QualityConfig, QualitySize, recorded_settings
from quality_stages import recipe_overrides, student_passes

from tinyzh.errors import ConfigError
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
    config = _config(tmp_path, hard_label_weight=0.5, temperature=2.0, hidden_loss="normalised",
                     prediction_epochs=3, prediction_lr=1e-3, unlabeled=True, augment_unlabeled=True)
    assert config.to_dict()["settings"] == recorded_settings(config.shape) == asdict(config.shape)
    planned = _overrides(config.shape, tmp_path)
    assert "distill_task.hard_label_weight=0.5" in planned and "distill_task.temperature=2.0" in planned
    assert {'distill_general.hidden_loss="normalised"', 'distill_task.hidden_loss="normalised"'} <= set(planned)
    (tmp_path / "tnews").mkdir()  # the recipe plans them into tinyzh distill's options
    (tmp_path / "tnews" / "unlabeled.json").write_text('{"sentence": "x"}\n', encoding="utf-8")
    steps = plan(load_recipe("quality-best", planned + ['student="s"', 'teacher="t"']))
    configs = {step.name: step.plan.config for step in steps if step.name.startswith("distill")}
    task = configs["distill_task"]
    assert (task.hard_label_weight, task.temperature, task.hidden_loss) == (0.5, 2.0, "normalised")
    assert configs["distill_general"].hidden_loss == "normalised"
    assert (task.prediction_epochs, task.prediction_lr) == (3, 1e-3)
    assert "distill_task.unlabeled=true" in planned and Path(task.data).parent.name == "distill-data"
    assert "augment.unlabeled=true" in planned  # the unlabelled rows get copies, and those join the step
    settings = {step.name: step.plan.settings for step in steps}
    assert settings["distill_task"]["unlabeled"] == str(tmp_path / "out" / "augment" / "unlabeled.json")
    assert configs["distill_general"].hard_label_weight == 0.0  # the prediction step's settings stay there
    assert configs["distill_general"].prediction_lr is None


def test_the_baselines_get_the_prediction_steps_passes_too(tmp_path: Path) -> None:
    plain = _config(tmp_path).shape
    assert student_passes(plain, ("tnews",)) == {"tnews": 2.0 * plain.task_epochs["tnews"]}
    longer = _config(tmp_path, prediction_epochs=3).shape
    assert student_passes(longer, ("tnews",)) == {"tnews": plain.task_epochs["tnews"] + 3.0}


def test_unlabeled_rows_never_reach_the_vocabulary(tmp_path: Path) -> None:
    import json

    from quality_setup import VOCAB, prepare_data, write_synthetic_data

    data = write_synthetic_data(tmp_path / "data")
    with (data / "clue" / "tnews" / "test.json").open("a", encoding="utf-8") as test:
        test.write(json.dumps({"sentence": "龘", "label_desc": "x", "id": 99}, ensure_ascii=False) + "\n")
    with (data / VOCAB).open("a", encoding="utf-8") as vocab:
        vocab.write("龘\n")
    size = _config(tmp_path, unlabeled=True, max_train=None).shape  # every row, the last one too
    for _ in range(2):  # the second time the first's unlabeled.json is already in the folder
        data_dir, vocab_dir = prepare_data(data, tmp_path / "out", size)
        rows = [json.loads(r) for r in (data_dir / "tnews" / "unlabeled.json").read_text(encoding="utf-8").splitlines()]
        assert {"sentence": "龘", "id": 99} in rows and not any("label_desc" in r for r in rows)
        assert "龘" not in (vocab_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    prepare_data(data, tmp_path / "out", _config(tmp_path).shape)
    assert not (data_dir / "tnews" / "unlabeled.json").exists()


def test_unlabeled_rows_leave_out_the_dev_texts_and_need_a_test_file(tmp_path: Path) -> None:
    import json

    from quality_setup import prepare_data, write_synthetic_data

    data = write_synthetic_data(tmp_path / "data")
    dev = (data / "clue" / "iflytek" / "dev.json").read_text(encoding="utf-8").splitlines()
    leaked = json.loads(dev[0])  # a dev text that is also in test.json, as 26 of IFLYTEK's are
    with (data / "clue" / "iflytek" / "test.json").open("a", encoding="utf-8") as test:
        test.write(json.dumps({"sentence": leaked["sentence"], "id": 7}, ensure_ascii=False) + "\n")
    size = _config(tmp_path, unlabeled=True, max_train=None).shape
    data_dir, _ = prepare_data(data, tmp_path / "out", size)
    path = data_dir / "iflytek" / "unlabeled.json"
    sentences = [json.loads(r)["sentence"] for r in path.read_text(encoding="utf-8").splitlines()]
    assert sentences and leaked["sentence"] not in sentences
    written = path.stat().st_mtime_ns
    prepare_data(data, tmp_path / "out", size)
    assert path.stat().st_mtime_ns == written  # unchanged, so a resumed run's task stages stay up to date
    (data / "clue" / "ocnli" / "test.json").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"ocnli/test.json: empty; --set unlabeled=true needs"):
        prepare_data(data, tmp_path / "out", size)
