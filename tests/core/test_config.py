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
