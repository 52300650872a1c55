"""Augmentation quality: homophones only from common, in-vocabulary characters; copies keep most of
their words; per-label counts and ``--balance``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import tiny
from tests.augment.test_augmenters import copies_of
from tinyzh.augment.balance import copies_to_keep
from tinyzh.augment.compose import max_replaced
from tinyzh.augment.config import AugmentConfig
from tinyzh.augment.homophone import HomophoneAugmenter, common_chars
from tinyzh.augment.runner import run_augment
from tinyzh.augment.words import tag
from tinyzh.cli import app

SENTENCES = ["我很喜欢这个手机", "质量太差了", "银行今天不开门", "这家店的服务很好", "快递送得很快"]


def test_common_characters_are_gb2312_level_1() -> None:
    chars = common_chars()
    assert len(chars) == 3755 and "喜" in chars and "的" in chars
    assert "鎴" not in chars and "欢" in chars  # the mojibake of 喜欢 -> 鎴欢 is out


def test_homophone_candidates_are_common_and_in_the_teachers_vocabulary(tmp_path: Path) -> None:
    vocab = set(tiny.vocab_tokens())
    aug = HomophoneAugmenter(top_k=15, vocab=tiny.write_vocab(tmp_path))
    unfiltered = HomophoneAugmenter(top_k=15, chars=None)
    proposed = 0
    for sentence in SENTENCES:
        for word, _ in tag(sentence):
            for variant in aug.word_candidates(word):
                new = [c for c, o in zip(variant, word, strict=True) if c != o]
                assert len(new) == 1 and new[0] in vocab and new[0] in common_chars(), (word, variant)
                proposed += 1
    assert proposed > 20  # the filter leaves real choices
    # without the vocabulary the candidates include characters the tiny vocabulary lacks
    assert any(c not in vocab for w, _ in tag("我很喜欢这个手机") for v in unfiltered.word_candidates(w) for c in v)


def test_a_copy_keeps_most_of_its_words() -> None:
    assert [max_replaced(n) for n in (1, 2, 3, 4, 5, 6, 9)] == [1, 1, 1, 1, 2, 2, 4]
    aug = HomophoneAugmenter(top_k=15)
    words = [w for w, _ in tag("质量太差了")]
    for copy in copies_of("质量太差了", [aug], n=30, p=1.0):  # p=1 would rewrite every word
        kept = sum(1 for a, b in zip(words, _same_cut(copy, words), strict=True) if a == b)
        assert kept > len(words) / 2, copy


def _same_cut(text: str, words: list[str]) -> list[str]:
    """``text`` cut at the original's word boundaries (homophones keep every word's length)."""
    out, at = [], 0
    for w in words:
        out.append(text[at : at + len(w)])
        at += len(w)
    return out


def test_copies_to_keep_restores_the_input_proportions() -> None:
    keep = copies_to_keep({"0": 76, "1": 84}, {"0": 779, "1": 1308})
    assert keep == {"0": 703, "1": round(84 * 779 / 76) - 84}
    assert (76 + keep["0"]) / (84 + keep["1"]) == pytest.approx(76 / 84, rel=0.01)


def _skewed_rows() -> list[dict]:
    # positive rows are long (many replaceable words, many copies), negative rows short
    rng = random.Random(0)
    long = "这家店的服务很好快递送得很快质量也不错价格便宜"
    rows = [{"id": i, "label": "positive", "sentence": long[rng.randrange(4):]} for i in range(6)]
    rows += [{"id": 10 + i, "label": "negative", "sentence": s} for i, s in enumerate(["质量差", "太慢了", "很失望", "不好用"])]
    return rows


def test_balance_keeps_label_shares_and_the_summary_shows_counts(tmp_path: Path) -> None:
    source = tmp_path / "train.json"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _skewed_rows()), encoding="utf-8")
    base = dict(task="demo-sentiment", input=source, augmenters=("homophone",), num_aug=8, p=0.5)
    plain = run_augment(AugmentConfig(output=tmp_path / "plain.json", **base)).stats
    assert plain.labels_in == {"positive": 6, "negative": 4}
    growth = {k: plain.labels_out[k] / plain.labels_in[k] for k in plain.labels_in}
    assert growth["positive"] > growth["negative"] * 1.2  # augmentation skewed the classes
    balanced = run_augment(AugmentConfig(output=tmp_path / "bal.json", balance=True, **base)).stats
    rows = [json.loads(line) for line in (tmp_path / "bal.json").read_text(encoding="utf-8").splitlines()]
    counts = {k: sum(r["label"] == k for r in rows) for k in ("negative", "positive")}
    assert counts == balanced.labels_out and counts["negative"] == plain.labels_out["negative"]
    assert counts["positive"] == round(6 * growth["negative"])  # positive grows by negative's factor
    assert sum(r["id"] < 10 and r["label"] == "positive" for r in rows) == counts["positive"]
    originals = [r for r in rows if r in _skewed_rows()]
    assert len(originals) == 10  # every original is kept
    assert balanced.balanced_out == plain.labels_out["positive"] - counts["positive"]

    result = CliRunner().invoke(app, ["augment", "--task", "demo-sentiment", "--input", str(source), "--output",
                                      str(tmp_path / "cli.json"), "--augmenter", "homophone", "--num-aug", "8"])
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "label positive" in text and "6 -> " in text and "label shares out" in text and "examples with no copy" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "holds no examples (the file is empty or blank)"),
        (b"\n\n", "holds no examples (the file is empty or blank)"),
        ('{"id": 1, "sentence": "质量太差", "label": "negative"}\n'.encode("gbk"),
         "none of its 1 lines is a usable demo-sentiment example (1 bad, 0 skipped"),
    ],
    ids=["empty", "blank", "gbk"],
)
def test_augment_of_nothing_is_an_error(tmp_path: Path, content: bytes, message: str) -> None:
    source = tmp_path / "train.json"
    source.write_bytes(content)
    out = tmp_path / "out.json"
    args = ["augment", "--task", "demo-sentiment", "--input", str(source), "--output", str(out)]
    result = CliRunner().invoke(app, [*args, "--augmenter", "homophone"])
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and message in text, result.output
    assert not out.exists()  # nothing half-made is left to resume


def test_homophones_follow_the_teachers_vocabulary_when_a_teacher_is_given(tmp_path: Path, vocab_dir: Path) -> None:
    source = tmp_path / "train.json"
    rows = [{"id": i, "sentence": s, "label": "positive"} for i, s in enumerate(SENTENCES)]
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    vocab = set(tiny.vocab_tokens())
    outputs = {}
    for name, extra in (("free", []), ("teacher", ["--teacher", str(vocab_dir)])):
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(app, ["augment", "--task", "demo-sentiment", "--input", str(source), "--output",
                                          str(out), "--augmenter", "homophone", "--num-aug", "10", *extra])
        assert result.exit_code == 0, result.output
        outputs[name] = "".join(json.loads(line)["sentence"] for line in out.read_text(encoding="utf-8").splitlines())
    assert set(outputs["free"]) - vocab  # without a vocabulary some swaps leave the tiny vocabulary
    assert set(outputs["teacher"]) <= vocab  # --teacher (no --vocab): every character is the teacher's
