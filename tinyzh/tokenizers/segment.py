"""Word segmenters behind one interface: jieba (default) and rjieba (optional, ~15x faster).

Both run jieba's dictionary with its HMM for unknown words. They disagree only on runs without
Chinese characters (jieba cuts ``2-9`` into three words, rjieba keeps one); ``word_boundaries`` in
``bert_chinese`` ignores the segmenter on such runs, so whole-word masking is identical either way.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from tinyzh.errors import ConfigError

SEGMENTERS = ("jieba", "rjieba")


class JiebaSegmenter:
    name = "jieba"

    def __init__(self) -> None:
        import jieba

        jieba.setLogLevel(logging.ERROR)
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()  # load the dictionary now, not inside the first timed call

    def cut(self, text: str) -> list[str]:
        return list(self._tokenizer.cut(text, HMM=True))


class RjiebaSegmenter:
    name = "rjieba"

    def __init__(self) -> None:
        try:
            import rjieba
        except ImportError:
            raise ConfigError(
                "segmenter 'rjieba' needs the optional package rjieba: pip install 'tinyzh[fast]'"
            ) from None
        self._cut = rjieba.cut

    def cut(self, text: str) -> list[str]:
        return self._cut(text, True)


@lru_cache(maxsize=None)
def get_segmenter(name: str) -> JiebaSegmenter | RjiebaSegmenter:
    """A shared segmenter instance (loading jieba's dictionary takes ~1 s)."""
    if name == "jieba":
        return JiebaSegmenter()
    if name == "rjieba":
        return RjiebaSegmenter()
    raise ConfigError(f"unknown segmenter {name!r}; expected one of {', '.join(SEGMENTERS)}")
