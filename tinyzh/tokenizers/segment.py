"""Word segmenters behind one interface: rjieba (default, several times faster) and jieba (fallback).

Both give jieba's exact segmentation (``jieba.Tokenizer().cut(text, HMM=True)``). rjieba's own
HMM disagrees with jieba's on near-ties of the Viterbi score (``常在雨中跑``: jieba S/S/S/S/S at
-37.08578862, rjieba B/E/S/S/S at -37.08578877 — float summation order), about one line in 200 of
our corpora. So ``RjiebaSegmenter`` takes only the dictionary route from rjieba (``HMM=False``,
identical to jieba's), finds the runs of single characters that jieba would hand to its HMM
(``jieba.Tokenizer.__cut_DAG``: two or more single-character pieces inside one ``re_han`` block,
not themselves a dictionary word) and cuts those as ``jieba.finalseg.cut`` does: Han blocks with
jieba's HMM batched in numpy (``tinyzh.tokenizers.hmm``, bit-identical), the letters, digits and
``+#&._%-`` between them by ``re_skip``, for all runs of a text at once.

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

from tinyzh.arrays import gather_ranges
from tinyzh.chinese import jieba_tokenizer
from tinyzh.errors import ConfigError
from tinyzh.tokenizers.hmm import BatchViterbi

SEGMENTERS = ("jieba", "rjieba")
DEFAULT_SEGMENTER = "rjieba"
FALLBACK_SEGMENTER = "jieba"
# jieba.finalseg.cut: Han blocks (``re_han``), then in the rest ``re_skip`` matches
# (``[a-zA-Z0-9]+(?:\.\d+)?%?``) and the text between them, as one left-to-right scan.
_RE_MIXED = re.compile(r"[\u4E00-\u9FD5]+|[a-zA-Z0-9]+(?:\.\d+)?%?|[^\u4E00-\u9FD5a-zA-Z0-9\n]+")
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


_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"  # re_skip's [a-zA-Z0-9]


def _bmp_table(chars: str = "", han: bool = False) -> np.ndarray:
    """bool [0x10000]: True at ``chars`` and, with ``han``, at jieba's ``re_han`` (U+4E00-U+9FD5)."""
    table = np.zeros(0x10000, dtype=bool)
    if han:
        table[0x4E00:0x9FD6] = True
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
        self._han = _bmp_table(_ALNUM + _HAN_EXTRA, han=True)  # jieba's re_han_default block characters
        self._alnum = _bmp_table(_ALNUM)
        self._pure_han = _bmp_table(han=True)  # the characters its HMM cuts
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
        if not len(c0):
            return
        non_han = np.concatenate([[0], np.cumsum((cps < 0x4E00) | (cps > 0x9FD5))])
        pure = non_han[c1] - non_han[c0] == 0  # only Han characters: the batched HMM can take it
        runs = list(map(text.__getitem__, map(slice, c0.tolist(), c1.tolist())))
        in_dict = np.fromiter(map(self._has_word, runs), bool, len(runs))
        # A dictionary word made of single pieces stays single characters (an ASCII piece too).
        ends[gather_ranges(c0[in_dict], c1[in_dict] - c0[in_dict])] = True
        hmm = pure & ~in_dict
        hmm_starts, hmm_ends = [c0[hmm]], [c1[hmm]]
        mixed = np.flatnonzero(~pure & ~in_dict).tolist()
        if mixed:
            self._mixed_runs([runs[k] for k in mixed], c0[mixed], c1[mixed], cps, ends, hmm_starts, hmm_ends)
        run_starts = np.concatenate(hmm_starts)
        if not len(run_starts):
            return
        run_lengths = np.concatenate(hmm_ends) - run_starts
        odd = self._viterbi.word_ends(cps, run_starts, run_lengths, ends)
        for k in odd.tolist():  # degenerate HMM paths: let jieba itself reproduce its odd output
            a, b = int(run_starts[k]), int(run_starts[k] + run_lengths[k])
            ends[a:b] = False
            stops = np.cumsum(np.fromiter(map(len, self._hmm(text[a:b])), np.int64))
            ends[a + stops - 1] = True

    def _mixed_runs(self, runs: list[str], c0: np.ndarray, c1: np.ndarray, cps: np.ndarray, ends: np.ndarray,
                    hmm_starts: list[np.ndarray], hmm_ends: list[np.ndarray]) -> None:
        """``jieba.finalseg.cut`` on runs mixing Han and other characters (``3个``, ``A股``): Han blocks
        go to the HMM, the rest is split by ``re_skip``. Where the rest is letters and digits alone,
        each of its stretches is one ``re_skip`` match: all such runs are cut at once in numpy. Runs
        with ``+#&._%-`` are scanned by one regex over all of them (``_RE_MIXED``)."""
        pos = gather_ranges(c0, c1 - c0)  # [P] characters of the runs
        ends[pos] = False
        run_of = np.repeat(np.arange(len(c0)), c1 - c0)
        chars = np.minimum(cps[pos], 0xFFFF)  # the runs' characters are all in the BMP (bufferable)
        han = self._pure_han[chars]
        extra = ~han & ~self._alnum[chars]
        regex = np.bincount(run_of[extra], minlength=len(c0)) > 0  # [R] runs for the regex
        simple = ~regex[run_of]
        pos, run_of, han = pos[simple], run_of[simple], han[simple]
        # Stretches of Han or of letters/digits, never across runs.
        new = np.ones(len(pos), bool)
        new[1:] = (run_of[1:] != run_of[:-1]) | (han[1:] != han[:-1])
        first = np.flatnonzero(new)
        last = np.append(first[1:], len(pos))[: len(first)] - 1  # the slice: no stretch at all
        starts, stops = pos[first], pos[last] + 1
        hard = np.flatnonzero(regex).tolist()
        if hard:
            more = self._regex_pieces([runs[k] for k in hard], c0[hard])
            starts, stops = np.concatenate([starts, more[0]]), np.concatenate([stops, more[1]])
        to_hmm = self._pure_han[np.minimum(cps[starts], 0xFFFF)] & (stops - starts >= 2)  # Han blocks of 2+
        ends[stops[~to_hmm] - 1] = True  # one Han character, or one re_skip piece
        hmm_starts.append(starts[to_hmm])
        hmm_ends.append(stops[to_hmm])

    @staticmethod
    def _regex_pieces(runs: list[str], c0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pieces (character ranges of the text) of runs with ``+#&._%-``: Han blocks, ``re_skip``
        matches and the stretches between them, from one ``finditer`` over the runs joined by
        newlines (which no piece can hold)."""
        joined = "\n".join(runs)
        spans = np.array([m.span() for m in _RE_MIXED.finditer(joined)], np.int64).reshape(-1, 2)
        lengths = np.fromiter(map(len, runs), np.int64, len(runs))
        run_start = np.cumsum(lengths + 1) - lengths - 1  # where each run starts in ``joined``
        run = np.searchsorted(run_start, spans[:, 0], side="right") - 1
        shift = c0[run] - run_start[run]
        return spans[:, 0] + shift, spans[:, 1] + shift


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
