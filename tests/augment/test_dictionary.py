"""Synonym dictionaries: Cilin-extended and plain loaders, format detection, the shipped default."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyzh.augment.dictionary import default_synonyms_path, detect_format, load_synonyms
from tinyzh.errors import ConfigError, InputError

CILIN = """\
Aa01A01= 人 士 人物
Aa01A02# 人类 生人 全人类
Aa01A03@ 众学生
Ab02B01= 人物 角色
Ba01A01= 高兴 快乐 开心
"""


def write(tmp_path: Path, text: str, name: str = "dict.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cilin_uses_only_equal_groups_and_unions_them(tmp_path: Path) -> None:
    synonyms = load_synonyms(write(tmp_path, CILIN), "cilin")
    assert synonyms.get("人物") == ("人", "士", "角色")  # two '=' groups, in file order
    assert synonyms.get("人") == ("士", "人物")
    assert synonyms.get("快乐") == ("高兴", "开心")
    assert synonyms.get("人类") == ()  # '#' lines are only related words
    assert synonyms.get("全人类") == ()
    assert "众学生" not in synonyms  # '@' lines are single words
    assert synonyms.groups == 3


def test_cilin_reports_a_malformed_line_with_its_number(tmp_path: Path) -> None:
    path = write(tmp_path, CILIN + "这不是词林 格式\n")
    with pytest.raises(InputError) as info:
        load_synonyms(path, "cilin")
    assert info.value.line == 6 and str(path) in str(info.value)


def test_plain_format_splits_on_spaces_and_commas_and_skips_comments(tmp_path: Path) -> None:
    path = write(tmp_path, "# comment\n\n高兴 快乐,开心\n美丽，漂亮\t好看\n孤词\n")
    synonyms = load_synonyms(path, "plain")
    assert synonyms.get("开心") == ("高兴", "快乐")
    assert synonyms.get("好看") == ("美丽", "漂亮")
    assert "孤词" not in synonyms and synonyms.groups == 2


def test_auto_detects_the_format(tmp_path: Path) -> None:
    assert detect_format(write(tmp_path, CILIN, "a.txt")) == "cilin"
    assert detect_format(write(tmp_path, "# x\n高兴 快乐\n", "b.txt")) == "plain"
    assert load_synonyms(write(tmp_path, CILIN, "c.txt")).get("士") == ("人", "人物")


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a dictionary format"):
        load_synonyms(None, "wordnet")
    with pytest.raises(ConfigError, match="not found"):
        load_synonyms(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="no synonym groups"):
        load_synonyms(write(tmp_path, "孤词\n"), "plain")


def test_shipped_default_dictionary() -> None:
    assert detect_format(default_synonyms_path()) == "plain"
    synonyms = load_synonyms()
    assert synonyms.groups >= 300
    assert "快乐" in synonyms.get("高兴")
    for word in ("的", "不", "没有", "我"):  # function words have no entries to tempt anyone
        assert word not in synonyms


def test_real_cilin_file(shared_data: Path) -> None:
    synonyms = load_synonyms(shared_data / "synonyms" / "cilin_ex.txt")
    assert synonyms.source.endswith("(cilin)")
    assert 9000 <= synonyms.groups <= 9988  # '=' lines with at least two words
    assert "人物" in synonyms.get("人")
