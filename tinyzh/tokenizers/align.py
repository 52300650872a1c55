"""Whole-word units for any Hugging Face fast tokenizer: segmenter words aligned to tokens by offsets.

Whole-word masking needs to know which tokens make one word. Words come from the segmenter (jieba),
tokens from the tokenizer (WordPiece with or without ``##``, SentencePiece Unigram or BPE with ``▁``,
byte-level BPE), and the two are aligned through each token's character span in the text. A token
joins the previous token's word when

1. their spans overlap (byte-level BPE splits one character into several tokens), or
2. the last character of the previous token and the first of this one lie in one segmenter word that
   contains a CJK character (北京 -> 北, 京; a SentencePiece piece 的事情 spanning 的 / 事情 pulls its
   neighbours into nothing: it is one unit by itself, and spans several words at once), or
3. the two are contiguous and both boundary characters are "word" characters (not whitespace, not
   punctuation, not CJK): the pieces of ``iphone12`` (``ip ##hone ##12`` or ``▁ip hone 12``).

Tokens that stand for no text (a ``▁`` alone, zero-width spans) belong to no word: word id ``-1``
(flag 2), never masked, and the next token starts a new word. For BERT's WordPiece, rule 3 is exactly
"same BERT pre-token", so the result equals ``tinyzh.tokenizers.fast_bert`` on its inputs.

Flags: 1 = first token of a word, 0 = continuation, 2 = no word. Usage::

    enc = OffsetEncoder(hf_tokenizer.backend_tokenizer, segmenter.cut_lengths)
    ids, flags, line_offsets = enc.encode_flat(["我爱北京天安门", "hello world"])
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinyzh.chinese import CJK_RANGES, is_cjk, is_punct

BLANK_MARKS = "▁Ġ"  # SentencePiece's and byte-level BPE's word-start marks


def is_word_char(char: str) -> bool:
    """A character that continues a non-CJK word: not whitespace, punctuation or CJK."""
    return not (char.isspace() or is_punct(char) or is_cjk(char))


def blank_token(token: str) -> bool:
    """True for a token that stands for no text of its own (``▁`` alone, an empty string)."""
    return not token.strip(BLANK_MARKS).strip()


def word_boundaries(text: str, offsets: Sequence[tuple[int, int]], words: Sequence[str],
                    blank: Sequence[bool] | None = None) -> list[int]:
    """Word index of every token (0-based and increasing; -1 for tokens of no word); the reference.

    ``offsets`` are the tokens' character spans in ``text``, ``words`` the segmenter's cut of
    ``text``, ``blank`` which tokens stand for no text.
    """
    char_key: list[int] = []  # char -> segmenter word index for words with a CJK char, else -1
    for index, word in enumerate(words):
        key = index if any(is_cjk(c) for c in word) else -1
        char_key.extend([key] * len(word))
    word_ids: list[int] = []
    current = -1
    prev: tuple[int, int] | None = None  # span of the previous token, None after a token of no word
    for k, (start, end) in enumerate(offsets):
        if (blank is not None and blank[k]) or end <= start:
            word_ids.append(-1)
            prev = None
            continue
        join = prev is not None and (
            start < prev[1]
            or (char_key[start] >= 0 and char_key[start] == char_key[prev[1] - 1])
            or (start == prev[1] and is_word_char(text[start]) and is_word_char(text[start - 1]))
        )
        if not join:
            current += 1
        word_ids.append(current)
        prev = (start, end)
    return word_ids


class OffsetEncoder:
    """Tokenize a chunk of lines with a fast tokenizer and mark word starts, vectorised over the chunk."""

    def __init__(self, backend: Any, cut_lengths: Callable[[str], np.ndarray]) -> None:
        self.backend = backend  # a ``tokenizers.Tokenizer`` (``hf_tokenizer.backend_tokenizer``)
        self.cut_lengths = cut_lengths
        size = backend.get_vocab_size(with_added_tokens=True)
        tokens = [backend.id_to_token(i) for i in range(size)]
        self.blank = np.array([blank_token(t or "") for t in tokens] + [True], dtype=bool)  # [V + 1]
        self.word_char = np.zeros(0x110000, dtype=np.uint8)  # [code point]: 0 unknown, 1 word char, 2 other
        self.cjk = np.zeros(0x110000, dtype=bool)
        for lo, hi in CJK_RANGES:
            self.cjk[lo : hi + 1] = True

    def _word_chars(self, cps: np.ndarray) -> np.ndarray:
        """bool [C]: is each code point a word character (classified once per code point)."""
        cls = self.word_char[cps]
        if (cls == 0).any():
            for cp in np.unique(cps[cls == 0]).tolist():
                self.word_char[cp] = 1 if is_word_char(chr(cp)) else 2
            cls = self.word_char[cps]
        return cls == 1

    def encode_flat(self, lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ids int32 [T], flags uint8 [T] (1 word start, 0 continuation, 2 no word), offsets int64 [n + 1]."""
        lines = list(lines)
        if not lines:
            return np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros(1, np.int64)
        encodings = self.backend.encode_batch(lines, add_special_tokens=False)
        counts = np.fromiter((len(e.ids) for e in encodings), np.int64, len(encodings))
        total = int(counts.sum())
        ids = np.fromiter(itertools.chain.from_iterable(e.ids for e in encodings), np.int32, total)
        spans = np.fromiter(itertools.chain.from_iterable(itertools.chain.from_iterable(e.offsets for e in encodings)),
                            np.int64, 2 * total).reshape(total, 2)
        line_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return ids, self._flags(lines, ids, spans, counts), line_offsets

    def _flags(self, lines: list[str], ids: np.ndarray, spans: np.ndarray, counts: np.ndarray) -> np.ndarray:
        total = len(ids)
        if not total:
            return np.zeros(0, np.uint8)
        text = "\n".join(lines)  # '\n' is a word of its own for the segmenter: words never cross lines
        cps = np.frombuffer(text.encode("utf-32-le"), np.uint32)
        line_start = np.cumsum([0] + [len(line) + 1 for line in lines[:-1]])
        base = np.repeat(line_start, counts)
        start, end = spans[:, 0] + base, spans[:, 1] + base  # [T] chunk character positions
        lengths = self.cut_lengths(text)  # [W] segmenter words
        word_of_char = np.repeat(np.arange(len(lengths)), lengths)  # [C]
        word_start = np.cumsum(lengths) - lengths
        has_cjk = np.add.reduceat(self.cjk[cps].astype(np.int32), word_start) > 0
        key = np.append(np.where(has_cjk[word_of_char], word_of_char, -1), -1)  # [C + 1], -1 past the end
        word_char = np.append(self._word_chars(cps), False)  # [C + 1]
        blank = self.blank[np.minimum(ids, len(self.blank) - 1)] | (end <= start)
        first = np.zeros(total, bool)
        first[line_offsets_starts(counts)] = True
        # The previous token with a word, within the line: blanks break words, so "previous" is k - 1.
        p_end = np.roll(end, 1)
        prev_ok = ~first & ~np.roll(blank, 1)
        last_prev = np.maximum(p_end - 1, 0)
        join = prev_ok & (
            (start < p_end)
            | ((key[start] >= 0) & (key[start] == key[last_prev]))
            | ((start == p_end) & word_char[start] & word_char[last_prev])
        )
        flags = np.where(join, 0, 1).astype(np.uint8)
        flags[blank] = 2
        return flags


def line_offsets_starts(counts: np.ndarray) -> np.ndarray:
    """Index of the first token of every non-empty line, from tokens per line [n]."""
    starts = np.cumsum(counts) - counts
    return starts[counts > 0]
