"""Word segmenters behind one interface: rjieba (default, several times faster) and jieba (fallback).

Both give jieba's exact segmentation (``jieba.Tokenizer().cut(text, HMM=True)``). rjieba's own
HMM disagrees with jieba's on near-ties of the Viterbi score (``常在雨中跑``: jieba S/S/S/S/S at
-37.08578862, rjieba B/E/S/S/S at -37.08578877 — float summation order), about one line in 200 of
our corpora. So ``RjiebaSegmenter`` takes only the dictionary route from rjieba (``HMM=False``,
identical to jieba's), finds the runs of single characters that jieba would hand to its HMM
(``jieba.Tokenizer.__cut_DAG``: two or more single-character pieces inside one ``re_han`` block,
not themselves a dictionary word) and cuts those with jieba's HMM: batched in numpy
(``tinyzh.tokenizers.hmm``, bit-identical) for pure-Han runs, ``jieba.finalseg`` for the rest.

The default is rjieba; where it cannot be imported (no wheel for the platform) jieba takes its place,
with the same output, and ``fallback_reason()`` says why (the pregen summary prints it).

Segmenters also offer ``cut_lengths(text)``: the word lengths as an int64 array [n_words], which
is all the tokenizer needs and avoids building Python strings.
"""

from __future__ import annotations

import importlib
import re
from functools import cache

import numpy as np

from tinyzh.chinese import jieba_tokenizer
from tinyzh.errors import ConfigError
from tinyzh.tokenizers.hmm import BatchViterbi

SEGMENTERS = ("jieba", "rjieba")
DEFAULT_SEGMENTER = "rjieba"
FALLBACK_SEGMENTER = "jieba"
_RE_HAN_BLOCK = re.compile("([\u4E00-\u9FD5]+)")  # jieba.finalseg.re_han
_RE_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")  # jieba.finalseg.re_skip
_HAN_EXTRA = "+#&._%-"  # besides CJK and ASCII letters/digits, jieba's re_han_default block chars


class JiebaSegmenter:
    name = "jieba"

    def __init__(self) -> None:
        self._tokenizer = jieba_tokenizer()  # loads the dictionary now, not inside the first timed call

    def cut(self, text: str) -> list[str]:
        return list(self._tokenizer.cut(text, HMM=True))

    def cut_lengths(self, text: str) -> np.ndarray:
        words = self.cut(text)
        return np.fromiter(map(len, words), np.int64, len(words))


def _han_table() -> np.ndarray:
    """bool [0x10000]: characters of jieba's ``re_han_default`` (U+4E00-U+9FD5, a-z, A-Z, 0-9, +#&._%-)."""
    table = np.zeros(0x10000, dtype=bool)
    table[0x4E00:0x9FD6] = True
    for chars in ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", _HAN_EXTRA):
        table[[ord(c) for c in chars]] = True
    return table


class RjiebaSegmenter:
    """rjieba's dictionary route plus jieba's HMM: jieba's output at rjieba's speed."""

    name = "rjieba"

    def __init__(self) -> None:
        try:
            import rjieba
        except ImportError:
            raise ConfigError(
                f"segmenter 'rjieba' cannot be imported ({_rjieba_import_error()}); reinstall it with "
                "pip install rjieba, or pass --segmenter jieba (same output, slower)"
            ) from None
        from jieba import finalseg

        self._route = rjieba.cut
        self._hmm = finalseg.cut
        # jieba's ``FREQ.get(word)`` is truthy exactly for dictionary words; rjieba loads the same
        # dictionary, so its has_word saves loading jieba's (~1 s).
        self._has_word = rjieba.has_word
        self._han = _han_table()
        self._viterbi = BatchViterbi()

    def cut(self, text: str) -> list[str]:
        out, pos = [], 0
        for length in self.cut_lengths(text).tolist():
            out.append(text[pos : pos + length])
            pos += length
        return out

    def cut_lengths(self, text: str) -> np.ndarray:
        words = self._route(text, False)  # jieba's dictionary route, without the HMM
        lengths = np.fromiter(map(len, words), np.int64, len(words))  # [W]
        if not len(words):
            return lengths
        cps = np.frombuffer(text.encode("utf-32-le"), np.uint32)  # [C]
        starts = np.cumsum(lengths) - lengths
        first = cps[starts]  # first character of each word
        bufferable = (lengths == 1) & self._han[np.minimum(first, 0xFFFF)] & (first <= 0xFFFF)
        # Multi-character ASCII runs: jieba's no-HMM cut joins consecutive [a-zA-Z0-9] pieces.
        for k in np.flatnonzero((lengths > 1) & (first < 128)).tolist():
            bufferable[k] = words[k].isascii() and words[k].isalnum()
        ends = np.zeros(len(cps), dtype=bool)  # [C] True after the last character of a word
        ends[starts + lengths - 1] = True
        self._recut_runs(text, cps, lengths, starts, bufferable, ends)
        return np.diff(np.flatnonzero(ends) + 1, prepend=0)

    def _recut_runs(self, text: str, cps: np.ndarray, lengths: np.ndarray, starts: np.ndarray,
                    bufferable: np.ndarray, ends: np.ndarray) -> None:
        """Re-cut every run of bufferable pieces the way jieba's ``__cut_DAG`` does, in ``ends``."""
        edges = np.diff(np.concatenate([[0], bufferable.astype(np.int8), [0]]))
        w0, w1 = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # runs as word index ranges
        c0, c1 = starts[w0], starts[w1 - 1] + lengths[w1 - 1]  # ... and as character ranges
        # A run of one piece is left alone: a single character, or an ASCII run that jieba's HMM
        # step (``re_skip``) would hand back whole.
        keep = (c1 - c0 >= 2) & (w1 - w0 >= 2)
        c0, c1 = c0[keep], c1[keep]
        non_han = np.concatenate([[0], np.cumsum((cps < 0x4E00) | (cps > 0x9FD5))])
        pure = non_han[c1] - non_han[c0] == 0  # only Han characters: the batched HMM can take it
        hmm_starts, hmm_ends, odd_runs = [], [], []
        for a, b, is_pure in zip(c0.tolist(), c1.tolist(), pure.tolist(), strict=True):
            if self._has_word(text[a:b]):
                ends[a:b] = True  # a dictionary word made of single pieces stays single characters
            elif is_pure:
                hmm_starts.append(a)
                hmm_ends.append(b)
            else:
                self._mixed_run(text, a, b, ends, hmm_starts, hmm_ends)
        if hmm_starts:
            run_starts = np.asarray(hmm_starts, dtype=np.int64)
            run_lengths = np.asarray(hmm_ends, dtype=np.int64) - run_starts
            odd = self._viterbi.word_ends(cps, run_starts, run_lengths, ends)
            odd_runs = [(int(run_starts[k]), int(run_starts[k] + run_lengths[k])) for k in odd.tolist()]
        for a, b in odd_runs:  # degenerate HMM paths: let jieba itself reproduce its odd output
            ends[a:b] = False
            stops = np.cumsum(np.fromiter(map(len, self._hmm(text[a:b])), np.int64))
            ends[a + stops - 1] = True

    @staticmethod
    def _mixed_run(text: str, a: int, b: int, ends: np.ndarray, hmm_starts: list[int], hmm_ends: list[int]) -> None:
        """``jieba.finalseg.cut`` on a run mixing Han and other characters: Han blocks go to the
        HMM, the rest is split by ``re_skip`` (``[a-zA-Z0-9]+(?:\\.\\d+)?%?`` pieces and what lies between)."""
        ends[a:b] = False
        pos = a
        for block in _RE_HAN_BLOCK.split(text[a:b]):
            if not block:
                continue
            if _RE_HAN_BLOCK.fullmatch(block):
                if len(block) == 1:
                    ends[pos] = True
                else:
                    hmm_starts.append(pos)
                    hmm_ends.append(pos + len(block))
            else:
                piece_end = pos
                for piece in _RE_SKIP.split(block):
                    if piece:
                        piece_end += len(piece)
                        ends[piece_end - 1] = True
            pos += len(block)


@cache
def _rjieba_import_error() -> str | None:
    """Why rjieba cannot be imported here, or None when it can."""
    try:
        importlib.import_module("rjieba")
    except ImportError as exc:  # not installed, or a wheel built for another platform
        return str(exc) or type(exc).__name__
    return None


def fallback_reason(name: str | None = None) -> str | None:
    """Why the default segmenter (``name`` None) falls back to jieba here, or None when it does not."""
    if name is not None:
        return None
    problem = _rjieba_import_error()
    if problem is None:
        return None
    return f"rjieba cannot be imported ({problem}); jieba segments instead, with the same output, several times slower"


def resolve_segmenter(name: str | None) -> str:
    """The segmenter that runs for ``name``: None means rjieba, or jieba where rjieba cannot be imported."""
    if name is None:
        return FALLBACK_SEGMENTER if _rjieba_import_error() else DEFAULT_SEGMENTER
    return name


def get_segmenter(name: str | None = None) -> JiebaSegmenter | RjiebaSegmenter:
    """A shared segmenter instance (loading jieba's dictionary takes ~1 s); None: the default."""
    return _segmenter(resolve_segmenter(name))


@cache
def _segmenter(name: str) -> JiebaSegmenter | RjiebaSegmenter:
    if name == "jieba":
        return JiebaSegmenter()
    if name == "rjieba":
        return RjiebaSegmenter()
    raise ConfigError(f"unknown segmenter {name!r}; expected one of {', '.join(SEGMENTERS)}")
