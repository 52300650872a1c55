"""Composing augmenters and drawing the augmented copies of one example.

Several augmenters (``synonym,mlm``) give one candidate list per word: a word takes the candidates
of the first augmenter whose ``word_scope`` matches it exactly (``single`` for one character,
``multi`` for more), else of the first ``any`` augmenter that proposes something — the paper's
split of dictionary for multi-character words and masked-LM for single characters.

Copies are drawn as in TinyBERT's Algorithm 1: every word with candidates is replaced with
probability ``p`` by a candidate (uniform, or by weight); all text fields of an example are drawn
together, so a pair task's two sentences stay one example. A copy keeps most of each text's words:
at most ``max_replaced(n)`` of its ``n`` words change (fewer than half, at least one), so a short
text is not rewritten whole (``质量太差了`` -> ``质亮胎茶了``); when more were drawn, a random subset of
that size is kept.
"""

from __future__ import annotations

import bisect
import inspect
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tinyzh import plugins
from tinyzh.augment.words import replaceable
from tinyzh.errors import PluginError
from tinyzh.plugin_checks import SCOPES

Tagged = Sequence[tuple[str, str]]  # one text as (word, tag) pairs


@dataclass(frozen=True)
class Choice:
    """The candidates of one word, ready to draw from (``cumulative`` is None for uniform)."""

    words: tuple[str, ...]
    cumulative: tuple[float, ...] | None = None

    @classmethod
    def of(cls, proposed: Sequence[str] | Mapping[str, float]) -> Choice | None:
        if isinstance(proposed, Mapping):
            items = [(w, float(x)) for w, x in proposed.items() if w and x > 0]
            if not items:
                return None
            return cls(tuple(w for w, _ in items), tuple(itertools.accumulate(x for _, x in items)))
        words = tuple(w for w in proposed if w)
        return cls(words) if words else None

    def draw(self, rng: random.Random) -> str:
        if self.cumulative is None:
            return self.words[rng.randrange(len(self.words))]
        index = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])
        return self.words[min(index, len(self.words) - 1)]


def build_augmenters(names: Sequence[str], options: Mapping[str, Any]) -> list[Any]:
    """Create each named augmenter, passing the options its factory's signature accepts."""
    out = []
    for name in names:
        factory = plugins.registry("augmenters").factory(name)
        out.append(plugins.get_augmenter(name, **accepted_options(factory, options)))
    for aug in out:
        if not callable(getattr(aug, "candidates", None)):
            raise PluginError(f"augmenter {aug!r} has no candidates(texts) method; see docs/augment.md")
        scope = getattr(aug, "word_scope", "any")
        if scope not in SCOPES:
            raise PluginError(f"augmenter {getattr(aug, 'name', aug)!r} has word_scope {scope!r}; expected one of {SCOPES}")
    return out


def accepted_options(factory: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return dict(options)
    names = {p.name for p in params}
    return {k: v for k, v in options.items() if k in names}


def merged_candidates(augmenters: Sequence[Any], texts: Sequence[Tagged]) -> list[list[Choice | None]]:
    """One ``Choice`` (or None: keep) per word of every text, composed as the module docstring says."""
    proposals = [aug.candidates(texts) for aug in augmenters]
    scopes = [getattr(aug, "word_scope", "any") for aug in augmenters]
    merged: list[list[Choice | None]] = []
    for t, text in enumerate(texts):
        row: list[Choice | None] = []
        for w, (word, tag) in enumerate(text):
            choice = None
            if replaceable(word, tag):
                exact = "single" if len(word) == 1 else "multi"
                order = [a for a, s in enumerate(scopes) if s == exact] + [a for a, s in enumerate(scopes) if s == "any"]
                for a in order:
                    choice = Choice.of(proposals[a][t][w])
                    if choice is not None:
                        break
            row.append(choice)
        merged.append(row)
    return merged


def max_replaced(n_words: int) -> int:
    """Words a copy may change in a text of ``n_words`` (punctuation not counted): fewer than half,
    at least one, so a copy keeps most of its words."""
    return max(1, (n_words - 1) // 2)


@dataclass
class Copies:
    """The distinct augmented copies of one example (original excluded) and their replacement counts."""

    texts: list[tuple[str, ...]]
    replaced: list[int]  # words changed in each copy


def draw_copies(
    words: Sequence[Sequence[str]],
    choices: Sequence[Sequence[Choice | None]],
    rng: random.Random,
    num_aug: int,
    p: float,
    max_draws: int,
) -> Copies:
    """Up to ``num_aug`` distinct copies different from the original, in at most ``max_draws`` draws.

    ``words[f]`` / ``choices[f]`` are text field ``f``'s words and their candidates.
    """
    original = tuple("".join(ws) for ws in words)
    seen = {original}
    copies = Copies([], [])
    slots = [(f, i, c) for f, cs in enumerate(choices) for i, c in enumerate(cs) if c is not None]
    if not slots or p <= 0:
        return copies
    limits = [max_replaced(sum(1 for w in ws if any(c.isalnum() for c in w))) for ws in words]
    for _ in range(max_draws):
        if len(copies.texts) >= num_aug:
            break
        changes: dict[int, list[tuple[int, str]]] = {}  # field -> [(word index, replacement)]
        for f, i, choice in slots:
            if rng.random() < p:
                new = choice.draw(rng)
                if new != words[f][i]:
                    changes.setdefault(f, []).append((i, new))
        fields = [list(ws) for ws in words]
        replaced = 0
        for f, changed in changes.items():
            if len(changed) > limits[f]:  # extra rng draws only when the cap binds: other copies are as before
                changed = rng.sample(changed, limits[f])
            for i, new in changed:
                fields[f][i] = new
            replaced += len(changed)
        texts = tuple("".join(ws) for ws in fields)
        if texts not in seen:
            seen.add(texts)
            copies.texts.append(texts)
            copies.replaced.append(replaced)
    return copies
