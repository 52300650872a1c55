"""The tinyzh-opencc augmenter plugin: discovery, candidates, a bad config."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinyzh import plugins
from tinyzh.cli import app
from tinyzh.errors import ConfigError
from tinyzh.protocols import Augmenter

pytest.importorskip("opencc", reason="the opencc wheel is not installed (pip install opencc)")


def test_cli_lists_both_augmenters(installed_plugins: Path) -> None:
    result = CliRunner().invoke(app, ["plugins", "--kind", "augmenters"])
    assert result.exit_code == 0, result.output
    for name in ("s2t", "t2s"):
        row = next(line for line in result.output.splitlines() if f" {name} " in line)
        assert "tinyzh-opencc" in row and "ok" in row


def test_s2t_proposes_converted_words_only(installed_plugins: Path) -> None:
    augmenter = plugins.get_augmenter("s2t")
    assert isinstance(augmenter, Augmenter)
    texts = [[("头发", "n"), ("很", "d"), ("长", "a")], [("发展", "vn"), ("经济", "n"), ("我", "r")]]
    # Phrase-level conversion: the same 发 becomes 髮 in 头发 and 發 in 发展; 很 / 我 stay.
    assert augmenter.candidates(texts) == [[["頭髮"], [], ["長"]], [["發展"], ["經濟"], []]]


def test_t2s_and_config_option(installed_plugins: Path) -> None:
    assert plugins.get_augmenter("t2s").candidates([[("漢字", "n")]]) == [[["汉字"]]]
    taiwan = plugins.get_augmenter("s2t", opencc_config="s2twp")  # Taiwan phrases, not just characters
    assert taiwan.candidates([[("软件", "n")]]) == [[["軟體"]]]


def test_unknown_config_is_a_config_error(installed_plugins: Path) -> None:
    with pytest.raises(ConfigError, match=r"OpenCC config 'klingon' is unknown.*try s2t, t2s"):
        plugins.get_augmenter("s2t", opencc_config="klingon")
