"""Chinese whole-word masking (BERT-wwm, Cui et al. 2019), one instance at a time in numpy.

Words come from the segmenter through ``word_ids`` (``-1`` for ``[CLS]``/``[SEP]``). As in Google's
``create_pretraining_data.py``: ``k = min(max_predictions, max(1, round(len * prob)))`` tokens are
to be predicted; words are visited in random order and a word is taken whole when it still fits
(a word that would overshoot ``k`` is skipped, a later smaller one may fit); each chosen token is
then replaced by ``[MASK]`` (80 %), a random token (10 %) or kept (10 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MaskSpec:
    """What masking needs to know about the vocabulary and the budget."""

    mask_token_id: int
    vocab_size: int
    random_low: int  # random replacements are drawn from [random_low, random_high): no special tokens
    masked_lm_prob: float = 0.15
    max_predictions_per_seq: int = 20
    random_high: int | None = None  # None: vocab_size

    @classmethod
    def from_tokenizer_info(cls, info: dict, masked_lm_prob: float, max_predictions_per_seq: int) -> MaskSpec:
        """From the manifest's ``tokenizer`` record; pregen and dynamic re-masking both build it here."""
        keys = ("mask_token_id", "cls_token_id", "sep_token_id", "pad_token_id", "unk_token_id")
        low, high = random_range([info[k] for k in keys if k in info], info["vocab_size"])
        return cls(info["mask_token_id"], info["vocab_size"], low, masked_lm_prob, max_predictions_per_seq,
                   None if high == info["vocab_size"] else high)


def random_range(special: list[int], vocab_size: int) -> tuple[int, int]:
    """The widest id range [low, high) holding no special token, for random replacements.

    bert-base-chinese: specials 0 and 100-103 give [104, 21128), past the [unusedN] tokens;
    XLM-R / multilingual-e5: specials 0-3 and ``<mask>`` as the last id give [4, V - 1).
    """
    edges = sorted({-1, vocab_size, *special})
    gaps = [(b - a - 1, a + 1, b) for a, b in zip(edges, edges[1:], strict=False)]
    size, low, high = max(gaps)
    return (low, high) if size > 0 else (0, vocab_size)


def word_ids_from_flags(flags: np.ndarray) -> np.ndarray:
    """``flags`` (uint8 [L]: 1 word start, 0 continuation, 2 special) -> word ids [L], -1 for specials."""
    starts = flags == 1
    word_ids = np.cumsum(starts, dtype=np.int32) - 1
    word_ids[flags == 2] = -1
    return word_ids


def budgets(lengths: np.ndarray, spec: MaskSpec) -> np.ndarray:
    """Tokens to predict per row: ``min(max_predictions, max(1, round(length * prob)))``, [N]."""
    wanted = np.maximum(1, np.round(lengths * spec.masked_lm_prob)).astype(np.int64)  # half to even, as round()
    return np.minimum(spec.max_predictions_per_seq, wanted)


def choose_words(row_of_word: np.ndarray, sizes: np.ndarray, budget: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Greedy whole-word choice for all rows at once; bool [n_words].

    ``row_of_word`` [n_words] (sorted), ``sizes`` [n_words] tokens per word, ``budget`` [N] per row.
    Words are ranked by a random key within their row; rank by rank, every row takes its word when
    the row is not full yet and the word still fits (BERT's ``continue`` on an overshooting word).
    """
    n_words = len(sizes)
    chosen = np.zeros(n_words, dtype=bool)
    if n_words == 0:
        return chosen
    order = np.argsort(row_of_word + rng.random(n_words))  # by row, then a random key: [n_words]
    rows = row_of_word[order]
    n_rows = len(budget)
    count = np.bincount(rows, minlength=n_rows)  # words per row
    rank = np.arange(n_words) - (np.cumsum(count) - count)[rows]
    ranked = np.full((n_rows, int(count.max())), -1, dtype=np.int64)  # [N, max words]: word ids by rank
    ranked[rows, rank] = order
    total = np.zeros(n_rows, dtype=np.int64)
    for k in range(ranked.shape[1]):
        active = np.flatnonzero((total < budget) & (count > k))  # rows not full with a k-th word
        if not len(active):
            break
        words = ranked[active, k]
        take = total[active] + sizes[words] <= budget[active]
        chosen[words[take]] = True
        total[active[take]] += sizes[words[take]]
    return chosen


def mask_rows(ids: np.ndarray, flags: np.ndarray, lengths: np.ndarray, spec: MaskSpec,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole-word mask N rows stored flat. ``ids``, ``flags`` [T] (flags: 1 word start, 0 continuation,
    2 special), ``lengths`` [N]. Returns masked ids [T], masked count per row [N], positions within
    their row [M] (ascending per row) and labels = original ids [M]."""
    row_start = np.cumsum(lengths) - lengths
    row_of_token = np.repeat(np.arange(len(lengths)), lengths)  # [T]
    starts = flags == 1
    word_of_token = np.cumsum(starts) - 1  # global word index; specials borrow a neighbour's (masked out below)
    word_starts = np.flatnonzero(starts)
    sizes = np.bincount(word_of_token[flags != 2], minlength=len(word_starts))
    chosen = choose_words(row_of_token[word_starts], sizes, budgets(lengths, spec), rng)
    masked_tokens = np.flatnonzero(chosen[np.maximum(word_of_token, 0)] & (flags != 2)) if len(word_starts) else \
        np.zeros(0, np.int64)
    labels = ids[masked_tokens]
    draw = rng.random(len(masked_tokens))  # [M]: < 0.8 [MASK], < 0.9 random token, else unchanged
    random_ids = rng.integers(spec.random_low, spec.random_high or spec.vocab_size, len(masked_tokens))
    out = ids.copy()
    out[masked_tokens] = np.where(draw < 0.8, spec.mask_token_id, np.where(draw < 0.9, random_ids, labels))
    rows = row_of_token[masked_tokens]
    counts = np.bincount(rows, minlength=len(lengths))
    return out, counts, masked_tokens - row_start[rows], labels


def mask_instance(input_ids: np.ndarray, flags: np.ndarray, spec: MaskSpec,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row: masked ids [L], positions [P] and labels [P] (``mask_rows`` on a batch of one)."""
    masked, _, positions, labels = mask_rows(input_ids, flags, np.array([len(input_ids)]), spec, rng)
    return masked, positions, labels
