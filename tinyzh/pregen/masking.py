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

from tinyzh.arrays import gather_ranges


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


MIN_RANDOM_BITS = 32  # below this, ties of the random key (broken by position) would show: argsort floats


def shuffled_within_rows(row_of_word: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Word indices by row, in random order within each row: [n_words]; ``row_of_word`` sorted.

    One 64-bit key per word, (row, random bits, place in its row), sorted by value: a plain sort is
    ~3x faster than an argsort (SIMD sort). With ~2^11 rows of ~2^7 words in a chunk ~46 bits are
    random, so a tie (then the earlier word first) is rarer than in a float key."""
    n = len(row_of_word)
    if n == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.diff(row_of_word, prepend=row_of_word[0] - 1))  # [G] each row's first word
    count = np.diff(np.append(starts, n))
    group = np.repeat(np.arange(len(starts)), count)  # [n] 0, 1, ... for the rows present
    place = np.arange(n) - starts[group]
    group_bits = max(1, (len(starts) - 1).bit_length())
    place_bits = max(1, int(count.max() - 1).bit_length())
    random_bits = 64 - group_bits - place_bits
    if random_bits < MIN_RANDOM_BITS:
        return np.argsort(row_of_word + rng.random(n))
    key = group.astype(np.uint64) << np.uint64(64 - group_bits)
    key |= rng.integers(0, 1 << random_bits, n, dtype=np.uint64) << np.uint64(place_bits)
    key |= place.astype(np.uint64)
    key.sort()
    group_sorted = (key >> np.uint64(64 - group_bits)).astype(np.int64)
    return starts[group_sorted] + (key & np.uint64((1 << place_bits) - 1)).astype(np.int64)


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
    order = shuffled_within_rows(row_of_word, rng)  # [n_words]: by row, random within
    n_rows = len(budget)
    count = np.bincount(row_of_word, minlength=n_rows)  # words per row
    first = np.cumsum(count) - count  # where each row's words start in ``order``
    total = np.zeros(n_rows, dtype=np.int64)
    active = np.flatnonzero(count > 0)  # rows that may still take a word
    for k in range(int(count.max())):
        active = active[(total[active] < budget[active]) & (count[active] > k)]  # not full, with a k-th word
        if not len(active):
            break
        words = order[first[active] + k]  # each active row's k-th word
        take = total[active] + sizes[words] <= budget[active]
        chosen[words[take]] = True
        total[active[take]] += sizes[words[take]]
    return chosen


def mask_rows(ids: np.ndarray, flags: np.ndarray, lengths: np.ndarray, spec: MaskSpec,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole-word mask N rows stored flat. ``ids``, ``flags`` [T] (flags: 1 word start, 0 continuation,
    2 special; a row starts with a special and a word with a 1, as ``assemble`` makes them: a 0
    right after a special belongs to no word), ``lengths`` [N]. Returns masked ids [T], masked count per row [N], positions within
    their row [M] (ascending per row) and labels = original ids [M]."""
    row_start = np.cumsum(lengths) - lengths
    row_of_token = np.repeat(np.arange(len(lengths)), lengths)  # [T]
    # A word runs from its start to the next start or special token (rows begin with one).
    edges = np.flatnonzero(flags != 0)  # word starts and specials, ascending
    is_start = flags[edges] == 1
    word_starts = edges[is_start]  # [W]
    sizes = np.diff(edges, append=len(flags))[is_start]  # [W] tokens per word
    chosen = choose_words(row_of_token[word_starts], sizes, budgets(lengths, spec), rng)
    masked_tokens = gather_ranges(word_starts[chosen], sizes[chosen])  # ascending
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
