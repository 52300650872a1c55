"""Segmenters: rjieba (route + batched HMM) cuts exactly like jieba."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import tiny
from tinyzh.errors import ConfigError
from tinyzh.tokenizers.segment import get_segmenter

TRICKY = ["常在雨中跑", "我常在雨中跑步", "他说：“今天...明天……”", "iPhone12和T恤3.5折", "a+b=c 100% 2-9",
          "", "　全角空格", "不强,但是", "耐人寻味的事情之处", "㐀㐁丶 𠀀", "abc\ndef中文\r\n第二行"]


@pytest.fixture(scope="module")
def segmenters() -> tuple:
    pytest.importorskip("rjieba")
    return get_segmenter("jieba"), get_segmenter("rjieba")


def test_rjieba_cuts_like_jieba_on_tricky_text(segmenters: tuple) -> None:
    jieba_seg, rjieba_seg = segmenters
    for text in TRICKY:
        assert rjieba_seg.cut(text) == jieba_seg.cut(text), text
        assert rjieba_seg.cut_lengths(text).tolist() == [len(w) for w in jieba_seg.cut(text)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=tiny.COMMON_CHARS[:300] + "，。ab1 ", max_size=40))
def test_rjieba_cuts_like_jieba_on_random_text(segmenters: tuple, text: str) -> None:
    jieba_seg, rjieba_seg = segmenters
    assert rjieba_seg.cut(text) == jieba_seg.cut(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=tiny.COMMON_CHARS[:60] + "aZ09.%+-#&_，", max_size=30))
def test_rjieba_cuts_mixed_han_latin_runs_like_jieba(segmenters: tuple, text: str) -> None:
    # Runs of Han and letters/digits are cut in numpy, runs with ``.%+-#&_`` by the regex: both as jieba.
    jieba_seg, rjieba_seg = segmenters
    assert rjieba_seg.cut(text) == jieba_seg.cut(text)


def test_repeated_mixed_runs_cut_like_jieba(segmenters: tuple) -> None:
    """Runs mixing Han and Latin/digits (with and without +#&._%-), repeated in a line and across
    cuts, cut like jieba."""
    jieba_seg, rjieba_seg = segmenters
    text = "买了3个A股又买3个A股，iPhone12和T恤3.5折，再买3个A股。版本1.5a.5涨3.5%又50%%，a-b_c#1+2&3.14.15中文"
    for _ in range(2):
        assert rjieba_seg.cut(text) == jieba_seg.cut(text)


def test_batched_viterbi_equals_jieba() -> None:
    from jieba import finalseg

    from tinyzh.tokenizers.hmm import STATES, BatchViterbi

    rng = np.random.default_rng(0)
    chars = np.array([ord(c) for c in tiny.COMMON_CHARS])
    obs = rng.choice(chars, size=(300, 7))
    paths = BatchViterbi().paths(obs)
    for row, path in zip(obs, paths, strict=True):
        text = "".join(map(chr, row))
        _, expected = finalseg.viterbi(text, "BMES", finalseg.start_P, finalseg.trans_P, finalseg.emit_P)
        assert "".join(STATES[s] for s in path) == "".join(expected)


def test_joined_lines_cut_like_separate_lines(segmenters: tuple) -> None:
    # The tokenizer cuts a whole chunk joined by newlines in one call.
    _, rjieba_seg = segmenters
    lines = ["常在雨中跑", "我爱北京天安门", "iPhone12很好"]
    joined = [w for line in lines for w in [*rjieba_seg.cut(line), "\n"]][:-1]
    assert rjieba_seg.cut("\n".join(lines)) == joined


def test_unknown_segmenter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="jieba, rjieba"):
        get_segmenter("thulac")


def test_shared_corpora_rjieba_equals_jieba(shared_data: Path, segmenters: tuple) -> None:
    jieba_seg, rjieba_seg = segmenters
    for path in sorted((shared_data / "corpus").glob("*.txt")):
        with open(path, encoding="utf-8") as handle:
            lines = [line.strip() for _, line in zip(range(3000), handle, strict=False) if line.strip()]
        text = "\n".join(lines)
        assert rjieba_seg.cut_lengths(text).tolist() == [len(w) for w in jieba_seg.cut(text)], path.name


def test_default_is_rjieba_where_it_imports(segmenters: tuple) -> None:
    from tinyzh.tokenizers import segment

    assert segment.resolve_segmenter(None) == "rjieba"
    assert get_segmenter().name == "rjieba" and get_segmenter() is get_segmenter("rjieba")
    assert segment.fallback_reason() is None


def test_default_falls_back_to_jieba_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyzh.tokenizers import segment

    monkeypatch.setattr(segment, "_rjieba_import_error", lambda: "No module named 'rjieba'")
    assert segment.resolve_segmenter(None) == "jieba" and get_segmenter().name == "jieba"
    reason = segment.fallback_reason()
    assert reason is not None and "No module named 'rjieba'" in reason and "same output" in reason
    assert segment.fallback_reason("jieba") is None  # asked for by name: no fallback to explain


def test_rjieba_asked_for_by_name_but_not_importable_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from tinyzh.tokenizers import segment

    monkeypatch.setitem(sys.modules, "rjieba", None)  # import rjieba now raises ImportError
    monkeypatch.setattr(segment, "_rjieba_import_error", lambda: "import of rjieba halted")
    with pytest.raises(ConfigError, match="--segmenter jieba"):
        segment.RjiebaSegmenter()
