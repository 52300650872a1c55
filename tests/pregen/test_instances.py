"""BERT's instance recipe on synthetic token ranges: lengths, pair labels, truncation, layout."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinyzh.pregen.config import PregenConfig
from tinyzh.pregen.instances import ChunkTokens, InstanceBuilder, Sentences, assemble, truncate_pairs

CLS, SEP = 2, 3


def chunk(n_docs: int, seed: int) -> ChunkTokens:
    """Token id = 1000 * (document + 1) + position in the document, so every token says where it came from."""
    rng = random.Random(seed)
    ids, line_lengths, doc_lines = [], [], [0]
    for doc in range(n_docs):
        position = 0
        lines = rng.randint(1, 6)
        for _ in range(lines):
            n = rng.randint(0, 30)  # empty lines happen (a line of control characters)
            ids += [1000 * (doc + 1) + position + k for k in range(n)]
            position += n
            line_lengths.append(n)
        doc_lines.append(doc_lines[-1] + lines)
    flags = np.array([1 if rng.random() < 0.6 else 0 for _ in ids], np.uint8)
    return ChunkTokens(np.array(ids, np.int32), flags, np.cumsum([0, *line_lengths]), np.array(doc_lines))


def build(tokens: ChunkTokens, task: str, seed: int = 0, max_seq_len: int = 32, **kw) -> dict[str, np.ndarray]:
    cfg = PregenConfig(corpus=[Path("x")], output=Path("y"), max_seq_len=max_seq_len, pair_task=task, **kw)
    ranges = InstanceBuilder(tokens, Sentences.of(tokens), cfg, np.random.default_rng(seed)).build()
    return assemble(tokens, ranges, CLS, SEP, pair=task != "none")


def rows(built: dict[str, np.ndarray]) -> list[np.ndarray]:
    if not len(built["lengths"]):  # np.split of nothing would give one empty row
        return []
    return np.split(built["input_ids"], np.cumsum(built["lengths"])[:-1])


@given(st.integers(2, 12), st.integers(0, 10_000), st.sampled_from(["nsp", "sop"]))
def test_pairs_follow_the_recipe(n_docs: int, seed: int, task: str) -> None:
    built = build(chunk(n_docs, seed), task, seed)
    first_docs = [row[1] // 1000 for row in rows(built)]
    if task == "nsp":
        assert first_docs == sorted(first_docs)  # document by document, as BERT makes them
    for row, a_len, label in zip(rows(built), built["a_lengths"], built["next_sentence_label"], strict=True):
        assert len(row) <= 32 and row[0] == CLS and row[a_len + 1] == SEP and row[-1] == SEP
        a, b = row[1 : a_len + 1], row[a_len + 2 : -1]
        assert len(a) >= 1 and len(b) >= 1 and CLS not in row[1:] and list(row).count(SEP) == 2
        doc_a, doc_b = set(a // 1000), set(b // 1000)
        assert len(doc_a) == 1
        if task == "nsp" and label == 1:
            assert doc_b.isdisjoint(doc_a)  # random next comes from another document
        elif task == "nsp":
            assert doc_b == doc_a and b.min() > a.max()  # the true continuation
        else:
            assert doc_b == doc_a and (b.min() > a.max()) == (label == 0)  # swapped when label is 1
        assert np.all(np.diff(a) > 0) and np.all(np.diff(b) > 0)  # truncation only trims the ends


def test_nsp_labels_are_about_half_random() -> None:
    labels = build(chunk(200, 1), "nsp")["next_sentence_label"]
    assert 0.35 < labels.mean() < 0.75


def test_short_seq_prob_shortens_instances() -> None:
    tokens = chunk(300, 3)
    never, sometimes, always = (build(tokens, "none", max_seq_len=64, short_seq_prob=p)["lengths"].mean()
                                for p in (0.0, 0.1, 1.0))
    assert never > sometimes > always


def test_segments_start_with_a_word() -> None:
    built = build(chunk(30, 4), "nsp")
    starts = np.cumsum(built["lengths"]) - built["lengths"]
    assert np.all(built["word_flags"][starts] == 2) and np.all(built["word_flags"][starts + 1] == 1)
    assert np.all(built["word_flags"][starts + built["a_lengths"] + 2] == 1)


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), min_size=1, max_size=20), st.integers(2, 128),
       st.integers(0, 100))
def test_truncation_keeps_the_longer_side_trimmed(pairs: list[tuple[int, int]], limit: int, seed: int) -> None:
    la, lb = (np.array(side, np.int64) for side in zip(*pairs, strict=True))
    front_a, new_a, front_b, new_b = truncate_pairs(la, lb, limit, np.random.default_rng(seed))
    assert np.array_equal(new_a + new_b, np.minimum(la + lb, limit))
    assert np.all((0 <= front_a) & (front_a <= la - new_a) & (0 <= front_b) & (front_b <= lb - new_b))
    over = la + lb > limit
    assert np.all((np.abs(new_a - new_b) <= 1)[over] | (np.minimum(new_a, new_b) == np.minimum(la, lb))[over])
    assert np.all(front_a[~over] == 0) and np.all(front_b[~over] == 0)


def test_truncation_trims_front_and_back_about_equally() -> None:
    front, kept, _, _ = truncate_pairs(np.full(2000, 100), np.zeros(2000, np.int64), 60, np.random.default_rng(0))
    assert np.all(kept == 60) and 18 < front.mean() < 22  # 40 tokens cut, each from the front with p = 1/2


@given(st.integers(1, 8), st.integers(0, 10_000))
def test_sentences_are_the_nonempty_lines_of_each_document(n_docs: int, seed: int) -> None:
    tokens = chunk(n_docs, seed)
    offsets, doc_lines = tokens.line_offsets.tolist(), tokens.doc_lines.tolist()
    expected = [[(offsets[i], offsets[i + 1]) for i in range(doc_lines[d], doc_lines[d + 1]) if offsets[i + 1] > offsets[i]]
                for d in range(n_docs)]
    s = Sentences.of(tokens)
    got = [list(zip(s.start[f : f + c].tolist(), s.end[f : f + c].tolist(), strict=True))
           for f, c in zip(s.doc_first.tolist(), s.doc_count.tolist(), strict=True)]
    assert got == expected and s.empty_documents == sum(1 for d in expected if not d)


def test_one_sentence_documents_make_random_next_pairs_only() -> None:
    """A stretch of one sentence has no continuation: NSP pairs it with another document (label 1)."""
    ids = np.arange(40, dtype=np.int32) + 1000 * np.repeat(np.arange(1, 9), 5)
    tokens = ChunkTokens(ids, np.ones(40, np.uint8), np.arange(0, 41, 5), np.arange(9))
    built = build(tokens, "nsp")
    assert len(built["lengths"]) == 8 and np.all(built["next_sentence_label"] == 1)


def test_the_same_seed_builds_the_same_instances() -> None:
    tokens = chunk(50, 7)
    one, two, other = build(tokens, "nsp", seed=3), build(tokens, "nsp", seed=3), build(tokens, "nsp", seed=4)
    assert all(np.array_equal(one[k], two[k]) for k in one)
    assert not np.array_equal(one["input_ids"], other["input_ids"])
