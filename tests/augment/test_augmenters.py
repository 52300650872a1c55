"""Synonym and homophone augmenters, the never-replace rules, composition and drawing copies."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
from pypinyin import Style, lazy_pinyin, pinyin

from tinyzh import plugins
from tinyzh.augment.compose import Choice, draw_copies, merged_candidates
from tinyzh.augment.dictionary import SynonymDict
from tinyzh.augment.homophone import HomophoneAugmenter
from tinyzh.augment.synonym import SynonymAugmenter
from tinyzh.augment.words import replaceable, tag
from tinyzh.protocols import Augmenter


class Everything:
    """An augmenter that proposes a replacement for every word, protected ones included."""

    def __init__(self, name: str = "everything", scope: str = "any", mark: str = "替") -> None:
        self.name, self.word_scope, self.mark = name, scope, mark

    def candidates(self, texts):
        return [[[self.mark * len(w)] for w, _ in text] for text in texts]


def copies_of(text: str, augmenters, *, n: int = 50, p: float = 0.5, seed: int = 0) -> list[str]:
    tagged = tag(text)
    choices = merged_candidates(augmenters, [tagged])
    copies = draw_copies([[w for w, _ in tagged]], choices, random.Random(seed), n, p, 3 * n)
    return [texts[0] for texts in copies.texts]


def test_tagging_keeps_every_character() -> None:
    for text in ["张三在北京买了3个iPhone12，花了5000元！", " 中文\tEnglish 混排 😀", ""]:
        assert "".join(w for w, _ in tag(text)) == text


@pytest.mark.parametrize(
    ("word", "tag_", "expected"),
    [("买", "v", True), ("苹果", "n", True), ("张三", "nr", False), ("北京", "ns", False),
     ("北京大学", "nt", False), ("华为", "nz", False), ("3", "m", False), ("三个", "m", False),
     ("iPhone", "eng", False), ("，", "x", False), ("的", "uj", False), ("不", "d", False),
     ("我们", "r", False), ("A股", "n", False), ("在", "p", False)],
)
def test_replaceable_rules(word: str, tag_: str, expected: bool) -> None:
    assert replaceable(word, tag_) is expected


def test_protected_words_are_never_replaced_whatever_is_proposed() -> None:
    text = "张三在北京大学买了3个iPhone，但是我们不去华为的店"
    copies = copies_of(text, [Everything()], p=1.0)
    # p=1: every replaceable word (买, 去, 店) changes; names, numbers, Latin, punctuation and
    # function words stay.
    assert copies == ["张三在北京大学替了3个iPhone，但是我们不替华为的替"]


def test_synonym_replacement_stays_inside_word_boundaries() -> None:
    # "究生" spans the boundary of 研究/生命; a string replace would produce 研同窗命起源.
    synonyms = SynonymDict([["究生", "同窗"], ["生命", "性命"], ["研究", "钻研"], ["起源", "来源"]])
    aug = SynonymAugmenter(synonyms=synonyms, top_k=5)
    assert [w for w, _ in tag("研究生命起源")] == ["研究", "生命", "起源"]
    copies = set(copies_of("研究生命起源", [aug], n=50))
    options = [("研究", "钻研"), ("生命", "性命"), ("起源", "来源")]
    # a copy keeps most of its words: one of the three changes, never two (compose.max_replaced)
    expected = {"".join(ws) for ws in itertools.product(*options) if sum(w != o[0] for w, o in zip(ws, options, strict=True)) == 1}
    assert copies == expected


def test_synonyms_ranked_by_frequency_and_cut_to_top_k() -> None:
    aug = SynonymAugmenter(synonyms=SynonymDict([["高兴", "欢喜", "开心", "快乐", "愉快"]]), top_k=2)
    ranked = aug.ranked("高兴")
    assert len(ranked) == 2 and "高兴" not in ranked
    assert set(ranked) <= {"欢喜", "开心", "快乐", "愉快"}
    assert aug.candidates([[("高兴", "a"), ("的", "uj")]])[0][1] == []


def test_p_zero_gives_no_copies() -> None:
    aug = SynonymAugmenter(synonyms=SynonymDict([["高兴", "快乐", "开心"]]))
    assert copies_of("今天我很高兴", [aug], p=0.0) == []
    assert copies_of("今天我很高兴", [aug], p=1.0)


def test_composition_gives_single_characters_to_the_single_scope_augmenter() -> None:
    dictionary = Everything("dict", "any", "典")
    mlm_like = Everything("mlm", "single", "掩")
    tagged = [("猫", "n"), ("喜欢", "v"), ("鱼", "n")]
    for order in ([dictionary, mlm_like], [mlm_like, dictionary]):
        choices = merged_candidates(order, [tagged])[0]
        assert [c.words for c in choices] == [("掩",), ("典典",), ("掩",)]


def test_composition_falls_back_when_the_specialist_has_nothing() -> None:
    silent = Everything("mlm", "single", "")  # proposes only empty strings -> nothing
    choices = merged_candidates([silent, Everything("dict", "any", "典")], [[("猫", "n")]])[0]
    assert choices[0].words == ("典",)


def test_weighted_choice_follows_weights() -> None:
    choice = Choice.of({"甲": 9.0, "乙": 1.0, "丙": 0.0})
    assert choice.words == ("甲", "乙")
    rng = random.Random(0)
    draws = [choice.draw(rng) for _ in range(2000)]
    assert 0.85 < draws.count("甲") / len(draws) < 0.95
    assert Choice.of([]) is None and Choice.of({"甲": 0.0}) is None


def test_pair_fields_are_drawn_together() -> None:
    aug = SynonymAugmenter(synonyms=SynonymDict([["高兴", "快乐", "开心", "愉快"]]))
    fields = [tag("他很高兴"), tag("她也高兴")]
    choices = merged_candidates([aug], fields)
    copies = draw_copies([[w for w, _ in f] for f in fields], choices, random.Random(1), 15, 0.5, 45)
    assert all(len(texts) == 2 for texts in copies.texts)
    assert any(a != "他很高兴" and b != "她也高兴" for a, b in copies.texts)  # one draw changes both
    assert len(set(copies.texts)) == len(copies.texts)
    assert ("他很高兴", "她也高兴") not in copies.texts


@pytest.fixture(scope="module")
def homophones() -> HomophoneAugmenter:
    return HomophoneAugmenter(top_k=8)


@pytest.mark.parametrize("word", ["手机", "银行", "再见", "质量", "觉得"])
def test_homophones_share_pinyin(homophones: HomophoneAugmenter, word: str) -> None:
    candidates = homophones.word_candidates(word)
    assert candidates and word not in candidates
    assert abs(sum(candidates.values()) - 1.0) < 1e-6
    readings = lazy_pinyin(word, style=Style.NORMAL)
    for variant in candidates:
        changed = [j for j in range(len(word)) if variant[j] != word[j]]
        assert len(variant) == len(word) and len(changed) == 1
        j = changed[0]
        assert readings[j] in pinyin(variant[j], style=Style.NORMAL, heteronym=True)[0]


def test_homophones_read_in_context_and_follow_frequency(homophones: HomophoneAugmenter) -> None:
    bank = homophones.word_candidates("银行")
    assert "银航" in bank and "银星" not in bank  # 行 reads hang in 银行, not xing
    options = homophones.index["zai"]
    assert [f for _, f in options] == sorted((f for _, f in options), reverse=True)


def test_homophone_char_list_file(tmp_path: Path) -> None:
    chars = tmp_path / "chars.txt"
    chars.write_text("在 100\n再 50\n载 10\n手\n", encoding="utf-8")
    aug = HomophoneAugmenter(chars=chars)
    assert aug.word_candidates("在") == {"再": pytest.approx(50 / 60), "载": pytest.approx(10 / 60)}
    assert aug.candidates([[("3", "m"), ("在", "v")]])[0][0] == {}


def test_builtins_load_through_entry_points_and_satisfy_the_protocol() -> None:
    synonym = plugins.get_augmenter("synonym", top_k=3)
    homophone = plugins.get_augmenter("homophone", top_k=3)
    for aug in (synonym, homophone):
        assert isinstance(aug, Augmenter)
    assert synonym.name == "synonym" and homophone.name == "homophone"
