"""BERT's instance recipe (``create_instances_from_document``) over token ranges of one chunk.

A chunk's tokens sit in one flat array (``ChunkTokens``); a sentence is a range of it and the
sentences of a document are contiguous, so segment A (and B when it is the true continuation) is a
single range too. Instances are built as ranges and gathered into ``[CLS] A [SEP] B [SEP]`` rows with
one vectorised ``take`` at the end. Differences from Google's script, both forced by streaming: the
random next document is drawn from the same chunk, not the whole corpus; and for ``sop`` a
one-sentence stretch is split at a random word boundary so it can still make a pair.

The recipe runs for all documents of the chunk at once: step k makes every document's k-th
instance (a document's next instance starts where its previous one ended, or, after a random next
segment, where its A segment ended: BERT puts the unused sentences back). Randomness comes from a
numpy generator in vector draws, so the instances are a pure function of the chunk and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyzh.arrays import gather_ranges
from tinyzh.pregen.config import PregenConfig


@dataclass
class ChunkTokens:
    """Tokens of a chunk. ``ids`` int32 [T]; ``flags`` uint8 [T] (1 = first token of a word);
    ``line_offsets`` [n_lines + 1] into ``ids``; ``doc_lines`` [n_docs + 1] into the lines."""

    ids: np.ndarray
    flags: np.ndarray
    line_offsets: np.ndarray
    doc_lines: np.ndarray


@dataclass
class Sentences:
    """A chunk's non-empty sentences as token ranges, by document (computed once per chunk).

    ``start``/``end`` int64 [S] (``end`` increasing: sentences are contiguous in the chunk);
    ``doc_first``/``doc_count`` int64 [D]: each document's first sentence and how many it has."""

    start: np.ndarray
    end: np.ndarray
    doc_first: np.ndarray
    doc_count: np.ndarray

    @classmethod
    def of(cls, tokens: ChunkTokens) -> Sentences:
        offsets = np.asarray(tokens.line_offsets, np.int64)
        keep = offsets[1:] > offsets[:-1]  # [lines]: a line that lost all its tokens is no sentence
        kept_before = np.concatenate([[0], np.cumsum(keep)])  # [lines + 1]
        doc_lines = np.asarray(tokens.doc_lines, np.int64)
        first = kept_before[doc_lines[:-1]]
        return cls(offsets[:-1][keep], offsets[1:][keep], first, kept_before[doc_lines[1:]] - first)

    @property
    def empty_documents(self) -> int:
        return int((self.doc_count == 0).sum())


@dataclass
class Ranges:
    """Instances as token ranges into the chunk plus the pair label, each int64 [N]."""

    a_start: np.ndarray
    a_len: np.ndarray
    b_start: np.ndarray
    b_len: np.ndarray
    label: np.ndarray  # NSP: 1 = random next; SOP: 1 = swapped; none: -1


def truncate_pairs(la: np.ndarray, lb: np.ndarray, max_tokens: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BERT's ``truncate_seq_pair`` in closed form for N pairs: trim the longer side one token at a
    time, each token from the front or the back with probability 1/2. Returns front_a, la', front_b, lb'."""
    excess = np.maximum(la + lb - max_tokens, 0)
    cut_a = np.minimum(excess, np.maximum(0, la - lb))  # the longer one first (ties trim b, as BERT does)
    cut_b = np.minimum(excess - cut_a, np.maximum(0, lb - la))
    rest = excess - cut_a - cut_b
    cut_b += (rest + 1) // 2
    cut_a += rest // 2
    # Binomial(cut, 1/2): how many of the trimmed tokens came off the front.
    return rng.binomial(cut_a, 0.5), la - cut_a, rng.binomial(cut_b, 0.5), lb - cut_b


@dataclass
class Step:
    """The instances of one step: per instance its document (index into the non-empty ones), A and B
    as token ranges, the label; and per document still going, where its next instance starts."""

    doc: np.ndarray
    a0: np.ndarray
    a1: np.ndarray
    b0: np.ndarray
    b1: np.ndarray
    label: np.ndarray
    next_first: np.ndarray


class InstanceBuilder:
    """Build one chunk's instances for one epoch."""

    def __init__(self, tokens: ChunkTokens, sentences: Sentences, config: PregenConfig,
                 rng: np.random.Generator) -> None:
        self.tokens = tokens
        self.s = sentences
        self.config = config
        self.rng = rng
        self.max_tokens = config.max_num_tokens
        self.docs = np.flatnonzero(sentences.doc_count > 0)  # documents with text: [E]
        self._word_starts: tuple[np.ndarray, np.ndarray] | None = None

    def build(self) -> Ranges:
        s, rng, n = self.s, self.rng, len(self.docs)
        doc = np.arange(n)
        first = s.doc_first[self.docs]
        stop = first + s.doc_count[self.docs]
        target = np.where(rng.random(n) < self.config.short_seq_prob,
                          rng.integers(2, self.max_tokens + 1, n), self.max_tokens)
        steps: list[Step] = []
        while len(doc):
            # Each document's stretch: sentences from ``first`` until ``target`` tokens, or its last one.
            last = np.minimum(np.searchsorted(s.end, s.start[first] + target), stop - 1) + 1
            step = self._step(doc, first, last, target)
            steps.append(step)
            going = step.next_first < stop
            doc, first, stop, target = doc[going], step.next_first[going], stop[going], target[going]
        return self._finish(steps)

    def _step(self, doc: np.ndarray, first: np.ndarray, last: np.ndarray, target: np.ndarray) -> Step:
        s, rng, task = self.s, self.rng, self.config.pair_task
        count = last - first
        # A ends after a random sentence of the stretch (of its first when the stretch has one).
        a_end = first + np.where(count >= 2, 1 + (rng.random(len(doc)) * (count - 1)).astype(np.int64), 1)
        a0, a1 = s.start[first], s.end[a_end - 1]
        if task == "none":
            a1 = s.end[last - 1]
            return Step(doc, a0, a1, np.zeros_like(a0), np.zeros_like(a0), np.full(len(doc), -1), last)
        if task == "nsp":
            return self._nsp(doc, first, last, a_end, a0, a1, target)
        return self._sop(doc, first, count, a_end, last, a0, a1)

    def _nsp(self, doc: np.ndarray, first: np.ndarray, last: np.ndarray, a_end: np.ndarray, a0: np.ndarray,
             a1: np.ndarray, target: np.ndarray) -> Step:
        s, rng = self.s, self.rng
        random_next = (last - first == 1) | (rng.random(len(doc)) < 0.5)
        b0, b1 = s.start[np.minimum(a_end, len(s.start) - 1)], s.end[last - 1]  # the true continuation
        next_first = last.copy()
        keep = np.ones(len(doc), bool)
        picked = np.flatnonzero(random_next)
        if len(self.docs) >= 2:
            b0[picked], b1[picked] = self._random_segments(doc[picked], target[picked] - (a1 - a0)[picked])
            next_first[picked] = a_end[picked]  # the sentences after A go back to the document
        else:  # no other document to draw from: no instance, as BERT's retry loop gives up
            keep[picked] = False
        return Step(doc[keep], a0[keep], a1[keep], b0[keep], b1[keep], random_next[keep].astype(np.int64),
                    next_first)

    def _random_segments(self, doc: np.ndarray, target_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each document in ``doc``, a stretch of at least ``target_b`` tokens (or to the end) of a
        random other document, from a random sentence on."""
        s, rng = self.s, self.rng
        pick = rng.integers(0, len(self.docs) - 1, len(doc))
        other = self.docs[pick + (pick >= doc)]
        start = s.doc_first[other] + (rng.random(len(doc)) * s.doc_count[other]).astype(np.int64)
        stop = s.doc_first[other] + s.doc_count[other]
        end = np.clip(np.searchsorted(s.end, s.start[start] + target_b), start, stop - 1)
        return s.start[start], s.end[end]

    def _sop(self, doc: np.ndarray, first: np.ndarray, count: np.ndarray, a_end: np.ndarray, last: np.ndarray,
             a0: np.ndarray, a1: np.ndarray) -> Step:
        s, rng = self.s, self.rng
        b0, b1 = s.start[np.minimum(a_end, len(s.start) - 1)], s.end[last - 1]
        keep = np.ones(len(doc), bool)
        single = np.flatnonzero(count == 1)  # one sentence: cut it at a random word boundary
        split = self._word_splits(s.start[first[single]], s.end[first[single]])
        keep[single] = split >= 0
        a1[single], b0[single] = split, split
        swap = rng.random(len(doc)) < 0.5
        a0, a1, b0, b1 = np.where(swap, b0, a0), np.where(swap, b1, a1), np.where(swap, a0, b0), np.where(swap, a1, b1)
        return Step(doc[keep], a0[keep], a1[keep], b0[keep], b1[keep], swap[keep].astype(np.int64), last)

    def _word_splits(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """A random word start strictly inside each range; the middle where there is none; -1 for a
        range of one token."""
        if self._word_starts is None:
            is_start = self.tokens.flags == 1
            self._word_starts = np.flatnonzero(is_start), np.concatenate([[0], np.cumsum(is_start)])
        positions, before = self._word_starts  # before[t]: how many words start at positions < t
        inside = before[end] - before[start + 1]
        pick = before[start + 1] + (self.rng.random(len(start)) * inside).astype(np.int64)
        middle = np.where(end - start >= 2, start + (end - start) // 2, -1)
        if not len(positions):
            return middle
        return np.where(inside > 0, positions[np.minimum(pick, len(positions) - 1)], middle)

    def _finish(self, steps: list[Step]) -> Ranges:
        """Truncate every pair to the budget, drop empty ones, order the instances document by document."""
        if not steps:
            return Ranges(*(np.zeros(0, np.int64) for _ in range(5)))
        doc, a0, a1, b0, b1, label = (np.concatenate([getattr(st, f) for st in steps])
                                      for f in ("doc", "a0", "a1", "b0", "b1", "label"))
        order = np.argsort(doc, kind="stable")  # steps are in order, so this is document-major
        a0, a1, b0, b1, label = a0[order], a1[order], b0[order], b1[order], label[order]
        front_a, la, front_b, lb = truncate_pairs(a1 - a0, b1 - b0, self.max_tokens, self.rng)
        keep = (la >= 1) & ((lb >= 1) | (self.config.pair_task == "none"))
        return Ranges(a0[keep] + front_a[keep], la[keep], b0[keep] + front_b[keep], lb[keep], label[keep])


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
