"""Augmenter plugin ``homophone``: swap one character of a word for another with the same pinyin.

The typo and speech-recognition noise of Chinese user text: pinyin input methods and ASR confuse
characters that sound alike (``在``/``再``, ``的``/``得``), so a student trained on such copies is
robust to it. Each replaceable word proposes the words made by changing one of its characters to a
character of the same reading (read in context with pypinyin, so ``银行`` reads ``hang``), drawn by
the replacement character's frequency. Readings ignore tones unless ``tones=True`` (pinyin keyboards
ignore them too).

Characters and frequencies come from jieba's dictionary (its single-character entries, ~11.6k
characters) restricted to the common ones, GB2312 level 1 (the 3,755 most frequent hanzi), unless
``chars`` names a file: one character a line, optionally followed by its count (without counts,
earlier lines count as more frequent). Rare characters were ~10 % of the replacements before, many
of them mojibake-like (``喜欢`` -> ``鎴欢``). With ``vocab`` (a ``vocab.txt``, a tokenizer directory or
name: the teacher's) a candidate must also be in that vocabulary, so the teacher never sees
``[UNK]`` where a character was. Usage::

    aug = HomophoneAugmenter(top_k=15, vocab="teacher/")
    aug.candidates([[("手机", "n")]])      # [[{"首机": 0.21, "收机": 0.08, ..., "手鸡": ...}]]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from tinyzh.augment.words import replaceable
from tinyzh.chinese import is_cjk, jieba_tokenizer
from tinyzh.errors import ConfigError, InputError

CharTable = dict[str, int]  # character -> frequency count


class HomophoneAugmenter:
    """Same-pinyin character swaps weighted by frequency; see the module docstring."""

    name = "homophone"
    word_scope = "any"

    def __init__(
        self, top_k: int = 15, chars: str | Path | None = None, tones: bool = False, vocab: str | Path | None = None
    ) -> None:
        if top_k < 1:
            raise ConfigError(f"--top-k must be at least 1, got {top_k}")
        self.top_k = top_k
        self.tones = tones
        if chars is not None:
            table = read_char_table(Path(chars))
        else:
            common = common_chars()
            table = {c: f for c, f in jieba_char_table().items() if c in common}
        if vocab is not None:
            known = vocab_chars(vocab)
            table = {c: f for c, f in table.items() if c in known}
            if not table:
                raise ConfigError(f"--vocab {vocab}: none of the homophone characters is in this vocabulary")
        self.index = pinyin_index(tuple(sorted(table.items())), tones)

    def readings(self, word: str) -> list[str]:
        """One reading per character of ``word`` (all CJK), in context."""
        from pypinyin import Style, lazy_pinyin

        return lazy_pinyin(word, style=Style.TONE3 if self.tones else Style.NORMAL, neutral_tone_with_five=True)

    def word_candidates(self, word: str) -> dict[str, float]:
        """``{variant: weight}``; each position of ``word`` carries the same total weight."""
        readings = self.readings(word)
        if len(readings) != len(word):  # pypinyin merged characters it cannot read; leave the word alone
            return {}
        out: dict[str, float] = {}
        for j, (char, reading) in enumerate(zip(word, readings, strict=True)):
            options = [(c, f) for c, f in self.index.get(reading, ()) if c != char][: self.top_k]
            total = sum(f for _, f in options)
            for c, f in options:
                out[word[:j] + c + word[j + 1 :]] = f / total / len(word)
        return out

    def candidates(self, texts: Sequence[Sequence[tuple[str, str]]]) -> list[list[dict[str, float]]]:
        return [[self.word_candidates(w) if replaceable(w, t) else {} for w, t in text] for text in texts]


def jieba_char_table() -> CharTable:
    """Single CJK characters of jieba's dictionary with their counts."""
    freq = jieba_tokenizer().FREQ
    return {w: f for w, f in freq.items() if len(w) == 1 and f > 0 and is_cjk(w)}


@lru_cache(maxsize=1)
def common_chars() -> frozenset[str]:
    """GB2312 level 1: the 3,755 most common hanzi, codes 0xB0A1-0xD7F9 (rows 16-55 of the table)."""
    chars = set()
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:  # 0xD7FA-0xD7FE are unassigned
                continue
    return frozenset(chars)


def vocab_chars(source: str | Path) -> frozenset[str]:
    """The single characters a vocabulary holds: a ``vocab.txt``, a folder with one, or any tokenizer
    (folder or name) that ``transformers`` loads; SentencePiece's ``▁`` prefix is ignored."""
    path = Path(source)
    if path.is_dir() and (path / "vocab.txt").is_file():
        path = path / "vocab.txt"
    if path.is_file():
        tokens = path.read_text(encoding="utf-8-sig").splitlines()
    else:
        from tinyzh.hf import load_hf_tokenizer

        tokens = list(load_hf_tokenizer(str(source)).get_vocab())
    stripped = (t.strip().removeprefix("▁") for t in tokens)
    return frozenset(t for t in stripped if len(t) == 1)


def read_char_table(path: Path) -> CharTable:
    """A ``char [count]`` file; without counts, line order gives the frequency rank."""
    if not path.is_file():
        raise ConfigError(f"homophone character list {path} not found")
    lines = [line.split() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    table: CharTable = {}
    for rank, parts in enumerate(lines):
        char = parts[0]
        if len(char) != 1 or not is_cjk(char):
            raise InputError(f"expected one Chinese character first, found {char!r}", path, rank + 1)
        try:
            table[char] = int(parts[1]) if len(parts) > 1 else len(lines) - rank
        except ValueError:
            raise InputError(f"count {parts[1]!r} is not an integer", path, rank + 1) from None
    return table


@lru_cache(maxsize=4)
def pinyin_index(table: tuple[tuple[str, int], ...], tones: bool) -> dict[str, list[tuple[str, int]]]:
    """reading -> [(char, count)] most frequent first.

    A character is listed under its most common reading only: rare readings of frequent characters
    (``听`` also reads ``yin``) would otherwise crowd out the real homophones.
    """
    from pypinyin import Style, pinyin

    style = Style.TONE3 if tones else Style.NORMAL
    index: dict[str, list[tuple[str, int]]] = {}
    for char, count in table:
        reading = pinyin(char, style=style, neutral_tone_with_five=True)[0][0]
        index.setdefault(reading, []).append((char, count))
    for options in index.values():
        options.sort(key=lambda cf: (-cf[1], cf[0]))
    return index
