"""Layer maps: TinyBERT's uniform map, parsing --layer-map, and the errors users see."""

from __future__ import annotations

import pytest

from tinyzh.distill.matches import (
    attention_layers,
    build_matches,
    deepest_teacher_layer,
    parse_layer_map,
    resolve_layer_map,
    uniform_layer_map,
)
from tinyzh.errors import ConfigError


@pytest.mark.parametrize(
    ("n_T", "n_S", "expected"),
    [
        (12, 4, [(0, 0), (1, 3), (2, 6), (3, 9), (4, 12)]),
        (12, 6, [(0, 0), (1, 2), (2, 4), (3, 6), (4, 8), (5, 10), (6, 12)]),
        (4, 2, [(0, 0), (1, 2), (2, 4)]),
        (4, 4, [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]),
    ],
)
def test_uniform_map(n_T: int, n_S: int, expected: list[tuple[int, int]]) -> None:
    assert uniform_layer_map(n_T, n_S) == expected


def test_uniform_map_needs_a_multiple() -> None:
    with pytest.raises(ConfigError, match=r"12 layers .* multiple of the student's 5.*--layer-map"):
        uniform_layer_map(12, 5)


def test_parse_layer_map_sorts_and_checks() -> None:
    assert parse_layer_map("2:12, 0:0,1:5", n_T=12, n_S=2) == [(0, 0), (1, 5), (2, 12)]
    assert resolve_layer_map(None, 4, 2) == [(0, 0), (1, 2), (2, 4)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1-3", "not STUDENT:TEACHER"),
        ("1:x", "not STUDENT:TEACHER"),
        ("5:3", "out of range"),
        ("1:13", "out of range"),
        ("0:3", "embedding output"),
        ("1:3,1:6", "twice"),
        (" , ", "empty"),
    ],
)
def test_parse_layer_map_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_layer_map(text, n_T=12, n_S=4)


def test_build_matches_records() -> None:
    matches = build_matches([(0, 0), (1, 3), (2, 6)], attention_loss="kl")
    names = [m.name for m in matches]
    assert names == ["embedding", "hidden_1", "attention_1", "hidden_2", "attention_2"]
    attention = [m for m in matches if m.feature == "attention"]
    assert {m.loss for m in attention} == {"attention_kl"}
    assert attention_layers(matches, "T") == {3, 6} and attention_layers(matches, "S") == {1, 2}
    assert deepest_teacher_layer(matches) == 6
