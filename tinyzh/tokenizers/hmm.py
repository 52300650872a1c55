"""jieba's HMM word finder (``jieba.finalseg``), batched over many runs of characters with numpy.

Same model tables, same float operations in the same order (``(V + trans) + emit``) and the same
tie-breaking as jieba's ``viterbi`` (Python's ``max`` over ``(prob, state)`` tuples: on equal
probability the alphabetically larger state wins), so the cut is bit-for-bit jieba's. Runs of
equal length are stacked into one [R, L] array and decoded together.
"""

from __future__ import annotations

import numpy as np

STATES = "BEMS"  # alphabetical, so a larger index is a larger state letter (the tie-break)
B, E, M, S = range(4)
PREV = {B: (E, S), M: (M, B), S: (S, E), E: (B, M)}  # jieba.finalseg.PrevStatus
MIN_FLOAT = -3.14e100


class BatchViterbi:
    """Cut pure-Han strings (U+4E00-U+9FD5) into word lengths."""

    def __init__(self) -> None:
        from jieba import finalseg

        self.start = np.array([finalseg.start_P[s] for s in STATES])  # [4]
        self.trans = np.array([[finalseg.trans_P[a].get(b, MIN_FLOAT) for b in STATES] for a in STATES])  # [4, 4]
        self.emit = np.full((4, 0x10000), MIN_FLOAT)  # [4, code point]
        for k, state in enumerate(STATES):
            for char, logp in finalseg.emit_P[state].items():
                if ord(char) < 0x10000:
                    self.emit[k, ord(char)] = logp

    def paths(self, obs: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Best state sequence [R, L] of each row of code points ``obs`` [R, L]; with ``lengths`` [R],
        row r is only its first ``lengths[r]`` characters (the rest of its path is meaningless)."""
        rows, length = obs.shape
        emit = self.emit[:, obs]  # [4, R, L]
        v = self.start[:, None] + emit[:, :, 0]  # [4, R]
        back = np.zeros((length, 4, rows), dtype=np.int8)
        for t in range(1, length):
            new = np.empty_like(v)
            for y, (a, b) in PREV.items():
                pa = (v[a] + self.trans[a, y]) + emit[y, :, t]
                pb = (v[b] + self.trans[b, y]) + emit[y, :, t]
                take_b = (pb > pa) | ((pb == pa) & (b > a))
                new[y] = np.where(take_b, pb, pa)
                back[t, y] = np.where(take_b, b, a)
            v = new if lengths is None else np.where(t < lengths, new, v)  # a row that has ended keeps its scores
        if lengths is None:
            lengths = np.full(rows, length)
        state = np.where(v[S] >= v[E], S, E)  # max((V[E], 'E'), (V[S], 'S'))
        path = np.empty((rows, length), dtype=np.int8)
        cols = np.arange(rows)
        path[cols, lengths - 1] = state
        for t in range(length - 1, 0, -1):
            live = t < lengths  # back-tracking from each row's own last character
            state = np.where(live, back[t, state, cols], state)
            path[live, t - 1] = state[live]
        return path

    def word_ends(self, cps: np.ndarray, starts: np.ndarray, lengths: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Cut the runs ``cps[starts[k] : starts[k] + lengths[k]]``, writing True into ``ends`` [C]
        after the last character of every word. Returns the indices k of runs whose path is
        degenerate (starts inside a word, which jieba's ``__cut`` turns into odd output): the caller
        cuts those with jieba itself. Runs are decoded together by length: each length up to 4 on
        its own, longer ones in bands (5-8, 9-16, ...), padded, so that a chunk takes a few dozen
        steps of numpy rather than one pass per distinct length."""
        odd = []
        band = np.where(lengths <= 4, lengths, 4 + np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64))
        for key in np.unique(band).tolist():
            members = np.flatnonzero(band == key)
            lens = lengths[members]
            longest = int(lens.max())
            offsets = np.arange(longest)
            index = starts[members][:, None] + np.minimum(offsets, lens[:, None] - 1)  # [R, L], padding repeats
            path = self.paths(cps[index], None if key <= 4 else lens)
            inside = offsets < lens[:, None]
            ends[index[inside]] = ((path == E) | (path == S))[inside]
            odd.extend(members[(path[:, 0] == E) | (path[:, 0] == M)].tolist())
        return np.asarray(sorted(odd), dtype=np.int64)
