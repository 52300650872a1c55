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

    def paths(self, obs: np.ndarray) -> np.ndarray:
        """Best state sequence [R, L] of each row of code points ``obs`` [R, L]."""
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
            v = new
        state = np.where(v[S] >= v[E], S, E)  # max((V[E], 'E'), (V[S], 'S'))
        path = np.empty((rows, length), dtype=np.int8)
        path[:, length - 1] = state
        cols = np.arange(rows)
        for t in range(length - 1, 0, -1):
            state = back[t, state, cols]
            path[:, t - 1] = state
        return path

    def word_ends(self, cps: np.ndarray, starts: np.ndarray, lengths: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Cut the runs ``cps[starts[k] : starts[k] + lengths[k]]``, writing True into ``ends`` [C]
        after the last character of every word. Returns the indices k of runs whose path is
        degenerate (starts inside a word, which jieba's ``__cut`` turns into odd output): the caller
        cuts those with jieba itself."""
        odd = []
        for length in np.unique(lengths).tolist():
            members = np.flatnonzero(lengths == length)
            index = starts[members][:, None] + np.arange(length)  # [R, L] character positions
            path = self.paths(cps[index])
            ends[index] = (path == E) | (path == S)
            odd.extend(members[(path[:, 0] == E) | (path[:, 0] == M)].tolist())
        return np.asarray(odd, dtype=np.int64)
