"""A vectorised re-implementation of BERT's tokenizer for a whole chunk of lines at once.

Why: Hugging Face's fast tokenizer plus per-token Python alignment ran at ~0.35M characters/s,
under the segmenter and far under pregen's target. Chinese BERT text is mostly characters that
are a token each, so the chunk is handled as a numpy array of code points:

1. every code point gets a class (cached per code point): ``SPACE`` (separates, dropped),
   ``SINGLE`` (a CJK character or punctuation: a token of its own, id from a table), ``WORD``
   (letters, digits, symbols: runs of them are WordPiece-tokenized, cached per run), or
   ``COMPLEX`` (characters the normalizer removes or changes class: the line goes to the Hugging
   Face tokenizer instead, so ids always match it);
2. the segmenter cuts the chunk in one call; word ids follow ``bert_chinese.word_boundaries``:
   a token joins the previous one when both come from one BERT pre-token or one segmenter word
   containing a CJK character.

Equal to the Hugging Face tokenizer for ``BertNormalizer(clean_text, handle_chinese_chars,
lowercase)`` + ``BertPreTokenizer`` + ``WordPiece``; ``FlatEncoder.supports`` checks that first and
tests compare both on real corpora.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import numpy as np

from tinyzh.arrays import gather_ranges
from tinyzh.chinese import CJK_RANGES
from tinyzh.chinese import is_cjk_codepoint as _is_cjk
from tinyzh.chinese import is_punct as _is_punct

UNKNOWN, SPACE, SINGLE, WORD, COMPLEX = 0, 1, 2, 3, 4
def _is_removed(char: str) -> bool:
    """Dropped by BertNormalizer's clean_text: NUL, U+FFFD and Cc/Cf/Cn/Co other than tab/newline."""
    if char in "\t\n\r":
        return False
    return ord(char) in (0, 0xFFFD) or unicodedata.category(char) in ("Cc", "Cf", "Cn", "Co")


class FlatEncoder:
    """Tokenize many lines at once into flat ``ids`` and word-start ``flags``."""

    def __init__(self, vocab: dict[str, int], unk_id: int, lowercase: bool, added: Sequence[str],
                 cut_lengths: Callable[[str], np.ndarray], fallback: Callable[[str], tuple[list[int], list[int]]]) -> None:
        self.vocab = vocab
        self.unk_id = unk_id
        self.lowercase = lowercase
        self.added = [a for a in added if a]
        self.cut_lengths = cut_lengths
        self.fallback = fallback  # one line -> (ids, word_ids) the slow, reference way
        self.max_word_chars = 100
        self.classes = np.zeros(0x110000, dtype=np.uint8)  # [code point] -> class, filled lazily
        self.single_ids = np.full(0x110000, unk_id, dtype=np.int32)  # [code point] -> id for SINGLE
        self.cjk = np.zeros(0x110000, dtype=bool)
        for lo, hi in CJK_RANGES:
            self.cjk[lo : hi + 1] = True
        self.run_cache: dict[str, list[int]] = {}
        self._prefill_cjk()

    def _prefill_cjk(self) -> None:
        """Classify the assigned BMP CJK ideographs up front: each is its own token and NFD/lower-case
        leave it unchanged (unlike the compatibility ideographs, classified lazily)."""
        cps = [cp for lo, hi in ((0x4E00, 0x9FFF), (0x3400, 0x4DBF)) for cp in range(lo, hi + 1)
               if unicodedata.category(chr(cp)) == "Lo"]
        self.classes[cps] = SINGLE
        self.single_ids[cps] = self.unk_id
        for token, index in self.vocab.items():
            if len(token) == 1 and self.classes[ord(token)] == SINGLE:
                self.single_ids[ord(token)] = index

    @staticmethod
    def supports(hf_tokenizer: Any) -> bool:
        """True when the tokenizer pipeline is plain BERT, which this class reproduces."""
        try:
            spec = json.loads(hf_tokenizer.backend_tokenizer.to_str())
        except Exception:  # any non-standard tokenizer object: use the reference path
            return False
        norm, pre, model = spec.get("normalizer") or {}, spec.get("pre_tokenizer") or {}, spec.get("model") or {}
        strip = norm.get("strip_accents")
        return (
            norm.get("type") == "BertNormalizer" and norm.get("clean_text") and norm.get("handle_chinese_chars")
            and (strip is None or strip == norm.get("lowercase"))
            and pre.get("type") == "BertPreTokenizer" and model.get("type") == "WordPiece"
            and model.get("continuing_subword_prefix") == "##" and model.get("max_input_chars_per_word") == 100
        )

    # ----------------------------------------------------------------- characters and words
    def _normalize(self, text: str) -> str:
        if not self.lowercase:
            return text
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        return "".join(c.lower() for c in text)  # per character, like the Rust normalizer (no final sigma)

    def _classify(self, cp: int) -> int:
        char = chr(cp)
        if _is_removed(char):
            return COMPLEX
        if char.isspace():
            return SPACE
        norm = self._normalize(char)
        if _is_cjk(cp) or _is_punct(char):
            if len(norm) != 1 or not (_is_cjk(ord(norm)) or _is_punct(norm)):
                return COMPLEX
            self.single_ids[cp] = self.vocab.get(norm, self.unk_id)
            return SINGLE
        if any(c.isspace() or _is_punct(c) or _is_cjk(ord(c)) or _is_removed(c) for c in norm):
            return COMPLEX
        return WORD

    def classes_of(self, cps: np.ndarray) -> np.ndarray:
        classes = self.classes[cps]
        if (classes == UNKNOWN).any():
            for cp in np.unique(cps[classes == UNKNOWN]).tolist():
                self.classes[cp] = self._classify(cp)
            classes = self.classes[cps]
        return classes

    def wordpiece(self, run: str) -> list[int]:
        ids = self.run_cache.get(run)
        if ids is None:
            ids = self._wordpiece(self._normalize(run))
            if len(self.run_cache) < 500_000:
                self.run_cache[run] = ids
        return ids

    def _wordpiece(self, word: str) -> list[int]:
        if not word:
            return []
        if len(word) > self.max_word_chars:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return [self.unk_id]  # no piece matched: the whole word is unknown
            start = end
        return ids

    # ----------------------------------------------------------------- lines
    def encode_flat(self, lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ids int32 [T], flags uint8 [T] (1 = first token of a word), line offsets int64 [n + 1]."""
        lines = list(lines)
        text = "\n".join(lines)  # '\n' is a separator for BERT and a word of its own for jieba
        cps = np.frombuffer(text.encode("utf-32-le"), np.uint32)
        classes = self.classes_of(cps)
        complex_lines = self._complex_lines(lines, text, classes)
        if not complex_lines:
            return self._encode_simple(lines, text, cps, classes)
        simple = [i for i in range(len(lines)) if i not in complex_lines]
        parts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        subset = [lines[i] for i in simple]
        sub_text = "\n".join(subset)
        sub_cps = np.frombuffer(sub_text.encode("utf-32-le"), np.uint32)
        ids, flags, offsets = self._encode_simple(subset, sub_text, sub_cps, self.classes_of(sub_cps))
        for k, i in enumerate(simple):
            parts[i] = (ids[offsets[k] : offsets[k + 1]], flags[offsets[k] : offsets[k + 1]])
        for i in complex_lines:
            line_ids, word_ids = self.fallback(lines[i])
            w = np.asarray(word_ids, np.int64)
            first = np.concatenate([[True], w[1:] != w[:-1]])[: len(w)]
            parts[i] = (np.asarray(line_ids, np.int32), first.astype(np.uint8))
        ordered = [parts[i] for i in range(len(lines))]
        lengths = [len(p[0]) for p in ordered]
        return (np.concatenate([p[0] for p in ordered]).astype(np.int32), np.concatenate([p[1] for p in ordered]),
                np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))

    def _complex_lines(self, lines: list[str], text: str, classes: np.ndarray) -> set[int]:
        """Lines the fast path cannot take: special-token strings, newlines inside a text, and
        characters of class COMPLEX."""
        found = set()
        if "\r" in text or text.count("\n") != len(lines) - 1 or any(a in text for a in self.added):
            found.update(i for i, line in enumerate(lines) if "\n" in line or "\r" in line
                         or any(a in line for a in self.added))
        bad = np.flatnonzero(classes == COMPLEX)
        if len(bad):
            starts = np.cumsum([0] + [len(line) + 1 for line in lines])
            found.update((np.searchsorted(starts, bad, side="right") - 1).tolist())
        return found

    def _encode_simple(self, lines: list[str], text: str, cps: np.ndarray,
                       classes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not lines:
            return np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros(1, np.int64)
        # Units (BERT pre-tokens) in text order: single characters and runs of WORD characters.
        single_pos = np.flatnonzero(classes == SINGLE)
        is_word = np.concatenate([[False], classes == WORD, [False]])
        run_start = np.flatnonzero(is_word[1:-1] & ~is_word[:-2])
        run_end = np.flatnonzero(is_word[1:-1] & ~is_word[2:]) + 1
        run_ids = [self.wordpiece(text[a:b]) for a, b in zip(run_start.tolist(), run_end.tolist(), strict=True)]
        run_counts = np.fromiter(map(len, run_ids), np.int64, len(run_ids))
        unit_pos = np.concatenate([single_pos, run_start])
        unit_end = np.concatenate([single_pos + 1, run_end])
        unit_count = np.concatenate([np.ones(len(single_pos), np.int64), run_counts])
        source = np.concatenate([self.single_ids[cps[single_pos]],
                                 np.fromiter(chain.from_iterable(run_ids), np.int32, int(run_counts.sum()))])
        source_start = np.concatenate([np.arange(len(single_pos)), len(single_pos) + np.cumsum(run_counts) - run_counts])
        order = np.argsort(unit_pos, kind="stable")
        count = unit_count[order]
        total = int(count.sum())
        token_src = gather_ranges(source_start[order], count)
        ids = source[token_src].astype(np.int32)
        unit = np.repeat(np.arange(len(order)), count)  # pre-token index of each token
        t_start = unit_pos[order][unit]
        t_end = unit_end[order][unit]
        flags = self._word_flags(text, cps, unit, t_start, t_end)
        # The only newlines in ``text`` join the lines (``_complex_lines`` sent the others away), and
        # tokens are in text order: a line's first token is the first one at or after its start.
        line_starts = np.concatenate([[0], np.flatnonzero(cps == 10) + 1])
        offsets = np.concatenate([np.searchsorted(t_start, line_starts), [total]])
        return ids, flags, offsets.astype(np.int64)

    def _word_flags(self, text: str, cps: np.ndarray, unit: np.ndarray, t_start: np.ndarray, t_end: np.ndarray) -> np.ndarray:
        """1 where a token starts a new word (see ``bert_chinese.word_boundaries``)."""
        lengths = self.cut_lengths(text)  # [W] segmenter words
        word_of_char = np.repeat(np.arange(len(lengths)), lengths)  # [C]
        word_start = np.cumsum(lengths) - lengths
        has_cjk = np.add.reduceat(self.cjk[cps].astype(np.int32), word_start) > 0 if len(lengths) else np.zeros(0, bool)
        key = np.where(has_cjk[word_of_char], word_of_char, -1)  # [C]: CJK-bearing word or -1
        start_key, end_key = key[t_start], key[t_end - 1]
        same = (unit[1:] == unit[:-1]) | ((start_key[1:] >= 0) & (start_key[1:] == end_key[:-1]))
        return np.concatenate([[1], ~same]).astype(np.uint8) if len(unit) else np.zeros(0, np.uint8)
