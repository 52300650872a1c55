"""BERT's instance recipe (``create_instances_from_document``) over token ranges of one chunk.

A chunk's tokens sit in one flat array (``ChunkTokens``); a sentence is a range of it and the
sentences of a document are contiguous, so segment A (and B when it is the true continuation) is a
single range too. Instances are built as ranges and gathered into ``[CLS] A [SEP] B [SEP]`` rows with
one vectorised ``take`` at the end. Differences from Google's script, both forced by streaming: the
random next document is drawn from the same chunk, not the whole corpus; and for ``sop`` a
one-sentence stretch is split at a random word boundary so it can still make a pair.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from tinyzh.pregen.config import PregenConfig


@dataclass
class ChunkTokens:
    """Tokens of a chunk. ``ids`` int32 [T]; ``flags`` uint8 [T] (1 = first token of a word);
    ``line_offsets`` [n_lines + 1] into ``ids``; ``doc_lines`` [n_docs + 1] into the lines."""

    ids: np.ndarray
    flags: np.ndarray
    line_offsets: np.ndarray
    doc_lines: np.ndarray

    def documents(self) -> list[list[tuple[int, int]]]:
        """Per document, its non-empty sentences as (start, end) token ranges."""
        pairs = list(zip(self.line_offsets[:-1].tolist(), self.line_offsets[1:].tolist(), strict=True))
        bounds = zip(self.doc_lines[:-1].tolist(), self.doc_lines[1:].tolist(), strict=True)
        if bool((np.diff(self.line_offsets) > 0).all()):  # the usual case: no line lost all its tokens
            return [pairs[first:last] for first, last in bounds]
        return [[p for p in pairs[first:last] if p[1] > p[0]] for first, last in bounds]


@dataclass
class Ranges:
    """Instances as token ranges into the chunk plus the pair label, each a list of length N."""

    a_start: list[int]
    a_len: list[int]
    b_start: list[int]
    b_len: list[int]
    label: list[int]  # NSP: 1 = random next; SOP: 1 = swapped; none: -1


def _randint(rng: random.Random, low: int, high: int) -> int:
    """Uniform integer in [low, high]; ``random.randint`` is several times slower."""
    return low + int(rng.random() * (high - low + 1))


def truncate_pair(la: int, lb: int, max_tokens: int, rng: random.Random) -> tuple[int, int, int, int]:
    """BERT's ``truncate_seq_pair`` in closed form: trim the longer side one token at a time, each
    token from the front or the back with probability 1/2. Returns (front_a, la', front_b, lb')."""
    excess = la + lb - max_tokens
    if excess <= 0:
        return 0, la, 0, lb
    cut_a = min(excess, max(0, la - lb))  # the longer one first (ties trim b, as BERT does)
    cut_b = min(excess - cut_a, max(0, lb - la))
    rest = excess - cut_a - cut_b
    cut_b += (rest + 1) // 2
    cut_a += rest // 2
    # Binomial(cut, 1/2) draws: one random bit per trimmed token says front or back.
    front_a = rng.getrandbits(cut_a).bit_count() if cut_a else 0
    front_b = rng.getrandbits(cut_b).bit_count() if cut_b else 0
    return front_a, la - cut_a, front_b, lb - cut_b


class InstanceBuilder:
    """Build one chunk's instances for one epoch."""

    def __init__(self, tokens: ChunkTokens, docs: list[list[tuple[int, int]]], config: PregenConfig,
                 rng: random.Random) -> None:
        self.tokens = tokens
        self.docs = docs  # tokens.documents(), computed once per chunk
        self.config = config
        self.rng = rng
        self.out = Ranges([], [], [], [], [])

    def build(self) -> Ranges:
        for index, doc in enumerate(self.docs):
            if doc:
                self._document(index, doc)
        return self.out

    def _document(self, doc_index: int, doc: list[tuple[int, int]]) -> None:
        rng, max_tokens = self.rng, self.config.max_num_tokens
        target = max_tokens
        if rng.random() < self.config.short_seq_prob:
            target = _randint(rng, 2, max_tokens)
        chunk: list[tuple[int, int]] = []
        length = 0
        i = 0
        while i < len(doc):
            chunk.append(doc[i])
            length += doc[i][1] - doc[i][0]
            if i == len(doc) - 1 or length >= target:
                i -= self._emit(doc_index, chunk, target)
                chunk, length = [], 0
            i += 1

    def _emit(self, doc_index: int, chunk: list[tuple[int, int]], target: int) -> int:
        """Add an instance from ``chunk`` (consecutive sentences); returns how many sentences to
        give back to the document (NSP puts the unused tail back, as BERT does)."""
        rng, task = self.rng, self.config.pair_task
        a_end = _randint(rng, 1, len(chunk) - 1) if len(chunk) >= 2 else 1
        if task == "none":
            self._add((chunk[0][0], chunk[-1][1]), (0, 0), -1)
            return 0
        a = (chunk[0][0], chunk[a_end - 1][1])
        if task == "nsp":
            if len(chunk) == 1 or rng.random() < 0.5:
                b = self._random_next(doc_index, target - (a[1] - a[0]))
                if b is None:
                    return 0
                self._add(a, b, 1)
                return len(chunk) - a_end
            self._add(a, (chunk[a_end][0], chunk[-1][1]), 0)
            return 0
        if len(chunk) == 1:  # sop needs two parts: cut the sentence at a word boundary
            split = self._word_split(*chunk[0])
            if split is None:
                return 0
            a, b = (chunk[0][0], split), (split, chunk[0][1])
        else:
            b = (chunk[a_end][0], chunk[-1][1])
        if rng.random() < 0.5:
            self._add(b, a, 1)
        else:
            self._add(a, b, 0)
        return 0

    def _random_next(self, doc_index: int, target_b: int) -> tuple[int, int] | None:
        """A stretch of at least ``target_b`` tokens from a random other document of the chunk."""
        others = len(self.docs) - 1
        if others <= 0:
            return None
        for _ in range(10):  # BERT's retry loop; empty documents are skipped here
            pick = _randint(self.rng, 0, others - 1)
            pick += pick >= doc_index
            doc = self.docs[pick]
            if doc:
                break
        else:
            return None
        start = _randint(self.rng, 0, len(doc) - 1)
        end = start
        while end < len(doc):
            end += 1
            if doc[end - 1][1] - doc[start][0] >= target_b:
                break
        return doc[start][0], doc[end - 1][1]

    def _word_split(self, start: int, end: int) -> int | None:
        starts = np.flatnonzero(self.tokens.flags[start + 1 : end] == 1) + start + 1
        if len(starts):
            return int(starts[_randint(self.rng, 0, len(starts) - 1)])
        return start + (end - start) // 2 if end - start >= 2 else None

    def _add(self, a: tuple[int, int], b: tuple[int, int], label: int) -> None:
        fa, la, fb, lb = truncate_pair(a[1] - a[0], b[1] - b[0], self.config.max_num_tokens, self.rng)
        if la < 1 or (self.config.pair_task != "none" and lb < 1):
            return
        out = self.out
        out.a_start.append(a[0] + fa)
        out.a_len.append(la)
        out.b_start.append(b[0] + fb)
        out.b_len.append(lb)
        out.label.append(label)


def gather_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the concatenated ranges ``[s, s + n)``: [sum(lengths)]."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    # Index = position in output - where this range starts in the output + where it starts in input.
    shift = np.repeat(starts - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift


def assemble(tokens: ChunkTokens, ranges: Ranges, cls_id: int, sep_id: int, pair: bool) -> dict[str, np.ndarray]:
    """Rows ``[CLS] A [SEP] (B [SEP])`` as flat arrays: ids [T], flags [T] (2 = special), lengths [N]."""
    n_tok = len(tokens.ids)
    ids = np.concatenate([tokens.ids, np.array([cls_id, sep_id], dtype=tokens.ids.dtype)])
    a_start, a_len = np.asarray(ranges.a_start, np.int64), np.asarray(ranges.a_len, np.int64)
    b_start, b_len = np.asarray(ranges.b_start, np.int64), np.asarray(ranges.b_len, np.int64)
    flags = np.concatenate([tokens.flags, np.array([2, 2], dtype=np.uint8)])
    n = len(a_start)
    one, cls, sep = np.ones(n, np.int64), np.full(n, n_tok, np.int64), np.full(n, n_tok + 1, np.int64)
    if pair:
        starts = np.stack([cls, a_start, sep, b_start, sep], axis=1)  # [N, 5] pieces of each row
        lens = np.stack([one, a_len, one, b_len, one], axis=1)
    else:
        starts = np.stack([cls, a_start, sep], axis=1)
        lens = np.stack([one, a_len, one], axis=1)
    index = gather_ranges(starts.ravel(), lens.ravel())
    lengths = lens.sum(axis=1)
    row_flags = flags[index]
    # A front-truncated segment may start inside a word: that part starts a word *in this row* only.
    # (Marking it in the chunk's shared flags would split the word in every other row holding it.)
    row0 = np.cumsum(lengths) - lengths
    first = row0 + 1 if not pair else np.concatenate([row0 + 1, row0 + 2 + a_len])
    row_flags[first] = np.where(row_flags[first] == 2, 2, 1)  # a token of no word stays one
    return {
        "input_ids": ids[index],
        "word_flags": row_flags,
        "lengths": lengths,
        "a_lengths": a_len,
        "next_sentence_label": np.asarray(ranges.label, np.int8),
    }
