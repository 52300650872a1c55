from __future__ import annotations

import pytest
from transformers import BertConfig

from tinyzh.config import STUDENT_PRESETS, BertShape, get_preset
from tinyzh.errors import ConfigError


def test_tinybert_presets_match_the_paper() -> None:
    four = get_preset("tinybert-4")
    assert (four.layers, four.hidden, four.intermediate, four.heads) == (4, 312, 1200, 12)
    six = get_preset("tinybert-6")
    assert (six.layers, six.hidden, six.intermediate, six.heads) == (6, 768, 3072, 12)


def test_presets_build_bert_configs() -> None:
    for preset in STUDENT_PRESETS.values():
        config = BertConfig(vocab_size=100, **preset.config_kwargs())
        assert config.hidden_size // config.num_attention_heads * config.num_attention_heads == config.hidden_size


def test_unknown_preset_lists_available() -> None:
    with pytest.raises(ConfigError, match="available: tinybert-4, tinybert-6"):
        get_preset("tinybert-2")


def test_preset_validates_heads() -> None:
    with pytest.raises(ConfigError, match="not divisible"):
        BertShape(layers=2, hidden=100, heads=12, intermediate=10)


def _configs(tmp_path):
    from tinyzh.augment.config import AugmentConfig
    from tinyzh.distill.config import DistillConfig
    from tinyzh.evaluate.config import EvalConfig, ModelSpec
    from tinyzh.pregen.config import PregenConfig

    return [
        PregenConfig(corpus=[tmp_path / "语料.txt"], output=tmp_path / "p", workers=1),
        DistillConfig(data="pregen/", output="student/"),
        AugmentConfig(task="tnews", input=tmp_path / "a.json", output=tmp_path / "b.json", augmenters=("synonym",)),
        EvalConfig(models=[ModelSpec("学生", "s/")], tasks=["tnews"], data_dir=tmp_path),
    ]


def test_command_configs_share_one_frozen_base(tmp_path) -> None:
    import dataclasses
    import json

    from tinyzh.config import CommandConfig

    for config in _configs(tmp_path):
        assert isinstance(config, CommandConfig)
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.seed = 1  # type: ignore[misc]
        data = json.loads(json.dumps(config.to_dict(), ensure_ascii=False))  # JSON-safe as it is
        assert type(config).from_dict({**data, "from_a_newer_version": 1}) == config
        defaults = {f.name: f.default for f in dataclasses.fields(config)}
        at_default = {k for k in config.ADDED_LATER if data[k] == defaults[k]}  # absent from older records
        assert set(config.identity()) == set(data) - config.RUN_ONLY - at_default
        assert config.replace(seed=3).seed == 3 and config.seed != 3


def test_fields_that_do_not_change_the_output(tmp_path) -> None:
    pregen, distill, augment, evaluate = _configs(tmp_path)
    assert pregen.identity() == pregen.replace(workers=4, overwrite=True).identity()
    assert pregen.identity() != pregen.replace(epochs=2).identity()
    assert not distill.differences(distill.replace(workers=3, logging_steps=1).to_dict())
    assert distill.differences(distill.replace(lr=1e-3).to_dict()) == ["lr"]
    assert augment.identity() == augment.replace(workers=2).identity()
    assert evaluate.identity() == evaluate.replace(force=True, threads=1).identity()
