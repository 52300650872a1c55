"""Traditional <-> simplified Chinese conversion as tinyzh augmenters, using OpenCC.

Two augmenters:

- ``s2t``: simplified -> traditional. Augmenting simplified training data with traditional variants
  teaches a student to cope with users who type traditional characters (Taiwan, Hong Kong).
- ``t2s``: traditional -> simplified, the other way round.

OpenCC converts phrase by phrase, not blindly character by character, so one-to-many characters
come out right (头发 -> 頭髮 but 发展 -> 發展). Each word the runner allows to change gets at most
one candidate, its converted form; words that convert to themselves get none. The runner decides
how many words of each copy actually change, so copies mix both scripts at the character level.

Option ``opencc_config`` picks another OpenCC configuration, e.g. ``s2tw`` / ``s2hk`` (regional
characters) or ``s2twp`` (Taiwan characters and phrases: 软件 -> 軟體); pass it from Python as
``AugmentConfig(..., extra={"opencc_config": "s2twp"})`` or ``get_augmenter("s2t", opencc_config="s2twp")``.
Usage::

    pip install plugins/tinyzh-opencc
    tinyzh augment --task tnews --input train.json --augmenter s2t --output aug.json
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from tinyzh.errors import ConfigError

__all__ = ["OpenccAugmenter", "SimplifiedToTraditional", "TraditionalToSimplified"]
__version__ = "0.1.0"


@lru_cache(maxsize=8)
def _converter(config: str) -> Any:
    """An ``opencc.OpenCC`` for ``config`` (loading dictionaries takes ~50 ms, so keep it)."""
    import opencc

    try:
        return opencc.OpenCC(config)
    except RuntimeError as exc:  # OpenCC reports an unknown config as "<name> not found or not accessible."
        raise ConfigError(
            f"OpenCC config {config!r} is unknown ({exc}); try s2t, t2s, s2tw, tw2s, s2hk, hk2s, s2twp or tw2sp"
        ) from None


class OpenccAugmenter:
    """Proposes each word's OpenCC conversion; satisfies ``tinyzh.protocols.Augmenter``."""

    name = "opencc"
    word_scope = "any"  # single characters and multi-character words alike
    default_config = "s2t"

    def __init__(self, opencc_config: str | None = None) -> None:
        self.config = opencc_config or self.default_config
        self.converter = _converter(self.config)

    def convert(self, text: str) -> str:
        return self.converter.convert(text)

    def candidates(
        self, texts: Sequence[Sequence[tuple[str, str]]]
    ) -> list[list[Sequence[str] | Mapping[str, float]]]:
        """For every word of every text: ``[converted]`` when conversion changes it, else ``[]``."""
        cache: dict[str, list[str]] = {}  # words repeat a lot within a batch
        out: list[list[Sequence[str] | Mapping[str, float]]] = []
        for words in texts:
            row: list[Sequence[str] | Mapping[str, float]] = []
            for word, _tag in words:
                if word not in cache:
                    converted = self.convert(word)
                    cache[word] = [converted] if converted != word else []
                row.append(cache[word])
            out.append(row)
        return out


class SimplifiedToTraditional(OpenccAugmenter):
    """``s2t``: simplified characters -> traditional (OpenCC ``s2t`` by default)."""

    name = "s2t"
    default_config = "s2t"


class TraditionalToSimplified(OpenccAugmenter):
    """``t2s``: traditional characters -> simplified (OpenCC ``t2s`` by default)."""

    name = "t2s"
    default_config = "t2s"
