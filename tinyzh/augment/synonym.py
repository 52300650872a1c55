"""Augmenter plugin ``synonym``: replace content words by dictionary synonyms.

Each replaceable word (see :mod:`tinyzh.augment.words`) found in the dictionary proposes its top-K
synonyms, ranked by jieba's word frequency (common words read more naturally), ties in dictionary
order. This is the Chinese counterpart of TinyBERT's GloVe nearest neighbours for multi-character
words (Jiao et al. 2020, section 3.3 and Algorithm 1). Usage::

    aug = SynonymAugmenter(synonyms="cilin_ex.txt", top_k=15)
    aug.candidates([[("我", "r"), ("高兴", "a")]])   # [[[], ["快乐", "开心", ...]]]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tinyzh.augment.dictionary import SynonymDict, load_synonyms
from tinyzh.augment.words import replaceable, word_frequency
from tinyzh.errors import ConfigError


class SynonymAugmenter:
    """Dictionary synonyms for every replaceable word; see the module docstring."""

    name = "synonym"
    word_scope = "any"

    def __init__(
        self,
        synonyms: str | Path | SynonymDict | None = None,
        synonyms_format: str = "auto",
        top_k: int = 15,
    ) -> None:
        if top_k < 1:
            raise ConfigError(f"--top-k must be at least 1, got {top_k}")
        self.top_k = top_k
        self.dictionary = synonyms if isinstance(synonyms, SynonymDict) else load_synonyms(synonyms, synonyms_format)
        self._ranked: dict[str, list[str]] = {}  # word -> top-K synonyms, filled on first use

    def ranked(self, word: str) -> list[str]:
        """The top-K synonyms of ``word``, most frequent first."""
        if word not in self._ranked:
            found = self.dictionary.get(word)
            order = sorted(range(len(found)), key=lambda i: (-word_frequency(found[i]), i))
            self._ranked[word] = [found[i] for i in order[: self.top_k]]
        return self._ranked[word]

    def candidates(self, texts: Sequence[Sequence[tuple[str, str]]]) -> list[list[list[str]]]:
        return [[self.ranked(w) if replaceable(w, t) else [] for w, t in text] for text in texts]
