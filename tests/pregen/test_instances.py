"""BERT's instance recipe on synthetic token ranges: lengths, pair labels, truncation, layout."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinyzh.pregen.config import PregenConfig
from tinyzh.pregen.instances import ChunkTokens, InstanceBuilder, assemble, truncate_pair

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
    ranges = InstanceBuilder(tokens, tokens.documents(), cfg, random.Random(seed)).build()
    return assemble(tokens, ranges, CLS, SEP, pair=task != "none")


def rows(built: dict[str, np.ndarray]) -> list[np.ndarray]:
    if not len(built["lengths"]):  # np.split of nothing would give one empty row
        return []
    return np.split(built["input_ids"], np.cumsum(built["lengths"])[:-1])


@given(st.integers(2, 12), st.integers(0, 10_000), st.sampled_from(["nsp", "sop"]))
def test_pairs_follow_the_recipe(n_docs: int, seed: int, task: str) -> None:
    built = build(chunk(n_docs, seed), task, seed)
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


@given(st.integers(0, 200), st.integers(0, 200), st.integers(2, 128), st.integers(0, 100))
def test_truncation_keeps_the_longer_side_trimmed(la: int, lb: int, limit: int, seed: int) -> None:
    front_a, new_a, front_b, new_b = truncate_pair(la, lb, limit, random.Random(seed))
    assert new_a + new_b == min(la + lb, limit)
    assert 0 <= front_a <= la - new_a and 0 <= front_b <= lb - new_b
    if la + lb > limit:
        assert abs(new_a - new_b) <= 1 or min(new_a, new_b) == min(la, lb)


@given(st.integers(1, 8), st.integers(0, 10_000))
def test_documents_are_the_nonempty_lines_of_each_document(n_docs: int, seed: int) -> None:
    tokens = chunk(n_docs, seed)
    offsets, doc_lines = tokens.line_offsets.tolist(), tokens.doc_lines.tolist()
    expected = [[(offsets[i], offsets[i + 1]) for i in range(doc_lines[d], doc_lines[d + 1]) if offsets[i + 1] > offsets[i]]
                for d in range(n_docs)]
    assert tokens.documents() == expected
