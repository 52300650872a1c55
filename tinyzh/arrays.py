"""Small numpy helpers shared by the tokenizers and pregen."""

from __future__ import annotations

import numpy as np


def gather_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the concatenated ranges ``[s, s + n)``: [sum(lengths)]."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    # Index = position in output - where this range starts in the output + where it starts in input.
    shift = np.repeat(starts - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift
