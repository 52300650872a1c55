"""Whole-word masking properties (hypothesis): whole words, bounds, labels, specials, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinyzh.pregen import masking
from tinyzh.pregen.masking import MaskSpec, budgets, mask_rows, shuffled_within_rows, word_ids_from_flags

SPEC = MaskSpec(mask_token_id=4, vocab_size=500, random_low=5, masked_lm_prob=0.15, max_predictions_per_seq=20)


@st.composite
def rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of rows ``[CLS] words.. [SEP] words.. [SEP]`` with words of 1-5 tokens."""
    ids, flags, lengths = [], [], []
    for _ in range(draw(st.integers(1, 6))):
        row_ids, row_flags = [2], [2]
        for _segment in range(draw(st.integers(1, 2))):
            for size in draw(st.lists(st.integers(1, 5), min_size=1, max_size=40)):
                row_ids += draw(st.lists(st.integers(5, 499), min_size=size, max_size=size))
                row_flags += [1] + [0] * (size - 1)
            row_ids.append(3)
            row_flags.append(2)
        ids += row_ids
        flags += row_flags
        lengths.append(len(row_ids))
    return np.array(ids, np.int64), np.array(flags, np.uint8), np.array(lengths, np.int64)


def split(array: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    return np.split(array, np.cumsum(counts)[:-1])


@settings(max_examples=150, deadline=None)
@given(rows(), st.integers(0, 2**32 - 1))
def test_masks_whole_words_within_budget(batch: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int) -> None:
    ids, flags, lengths = batch
    masked, counts, positions, labels = mask_rows(ids, flags, lengths, SPEC, np.random.default_rng(seed))
    assert masked.shape == ids.shape and counts.sum() == len(positions) == len(labels)
    budget = budgets(lengths, SPEC)
    for row_ids, row_flags, row_masked, pos, lab, k in zip(
        split(ids, lengths), split(flags, lengths), split(masked, lengths), split(positions, counts),
        split(labels, counts), budget, strict=True,
    ):
        word_ids = word_ids_from_flags(row_flags)
        assert np.all(np.diff(pos) > 0)  # sorted, unique
        assert np.all(row_flags[pos] != 2)  # never [CLS]/[SEP]
        assert np.array_equal(lab, row_ids[pos])  # labels are the original tokens
        chosen = np.unique(word_ids[pos])
        assert np.array_equal(np.flatnonzero(np.isin(word_ids, chosen)), pos)  # whole words, nothing else
        assert len(pos) <= k
        sizes = np.bincount(word_ids[word_ids >= 0])
        if sizes.min() <= k:
            assert len(pos) >= 1  # some word fits, so something is masked
        unchanged = np.setdiff1d(np.arange(len(row_ids)), pos)
        assert np.array_equal(row_masked[unchanged], row_ids[unchanged])


@settings(max_examples=40, deadline=None)
@given(rows(), st.integers(0, 2**32 - 1))
def test_deterministic_for_a_seed(batch: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int) -> None:
    first = mask_rows(*batch, SPEC, np.random.default_rng(seed))
    second = mask_rows(*batch, SPEC, np.random.default_rng(seed))
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a, b)


def test_replacement_shares_are_80_10_10() -> None:
    # 2,000 rows of 100 one-token words: 15 masked each, 30,000 masked tokens in all.
    lengths = np.full(2000, 102)
    row_flags = np.array([2] + [1] * 100 + [2], np.uint8)
    flags = np.tile(row_flags, 2000)
    ids = np.where(flags == 2, 2, 7).astype(np.int64)  # every word is token 7
    masked, counts, positions, labels = mask_rows(ids, flags, lengths, SPEC, np.random.default_rng(0))
    assert np.all(counts == 15)
    rows = np.repeat(np.arange(2000), counts)
    values = masked[rows * 102 + positions]
    share_mask, share_same = np.mean(values == 4), np.mean(values == 7)
    assert abs(share_mask - 0.8) < 0.02 and abs(share_same - 0.1 - 0.9 / 495) < 0.02
    assert values[(values != 4) & (values != 7)].min() >= SPEC.random_low  # random ids skip special tokens


def test_budget_follows_bert() -> None:
    assert budgets(np.array([1, 10, 128, 512]), SPEC).tolist() == [1, 2, 19, 20]


def test_front_truncated_segment_does_not_split_the_word_in_other_rows() -> None:
    from tinyzh.pregen.instances import ChunkTokens, Ranges, assemble

    # Two words of two tokens each: ids 10 11 | 12 13 (flags 1 0 1 0).
    tokens = ChunkTokens(
        ids=np.array([10, 11, 12, 13], np.int32), flags=np.array([1, 0, 1, 0], np.uint8),
        line_offsets=np.array([0, 4]), doc_lines=np.array([0, 1]),
    )
    # Row 0: A truncated from the front (starts mid-word at token 11); row 1: A is the whole line.
    ranges = Ranges(a_start=[1, 0], a_len=[3, 4], b_start=[0, 0], b_len=[0, 0], label=[-1, -1])
    rows = assemble(tokens, ranges, cls_id=2, sep_id=3, pair=False)
    assert rows["input_ids"].tolist() == [2, 11, 12, 13, 3, 2, 10, 11, 12, 13, 3]
    # Row 0's partial word starts a word there; row 1 keeps 10 11 as one word.
    assert rows["word_flags"].tolist() == [2, 1, 1, 0, 2, 2, 1, 0, 1, 0, 2]


@pytest.mark.parametrize("min_bits", [masking.MIN_RANDOM_BITS, 65])  # 65: the float-key fallback
def test_words_are_shuffled_uniformly_within_rows(monkeypatch: pytest.MonkeyPatch, min_bits: int) -> None:
    monkeypatch.setattr(masking, "MIN_RANDOM_BITS", min_bits)
    row_of_word = np.array([0, 0, 0, 3, 3, 7])  # rows 1, 2, 4-6 have no words
    rng = np.random.default_rng(0)
    orders: dict[tuple[int, ...], int] = {}
    second_first = 0
    for _ in range(3000):
        order = shuffled_within_rows(row_of_word, rng)
        assert sorted(order.tolist()) == list(range(6))  # a permutation ...
        assert (np.diff(row_of_word[order]) >= 0).all()  # ... that keeps rows together, in row order
        orders[tuple(order[:3].tolist())] = orders.get(tuple(order[:3].tolist()), 0) + 1
        second_first += order[3] == 4
    assert len(orders) == 6  # every order of row 0's three words, each about 1/6 of the time
    assert all(abs(count / 3000 - 1 / 6) < 0.03 for count in orders.values())
    assert abs(second_first / 3000 - 1 / 2) < 0.04  # row 3's two words, either first half the time
    assert len(shuffled_within_rows(np.zeros(0, np.int64), rng)) == 0
