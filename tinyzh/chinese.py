"""Chinese text helpers every part of tinyzh shares: CJK and punctuation tests, BERT's special tokens,
one cached jieba.

They live here, not in the ``bert-chinese`` plugin's module, because a plugin is a leaf that others do
not import. Usage::

    is_cjk("北")            # True
    jieba_tokenizer().cut("我爱北京天安门")
"""

from __future__ import annotations

import logging
import unicodedata
from functools import cache
from typing import Any

# The ranges of BERT's ``_is_chinese_char``.
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
              (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
# A WordPiece vocabulary's five special tokens, in bert-base-chinese's id order.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def is_cjk_codepoint(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def is_cjk(char: str) -> bool:
    """CJK ideograph, using the same ranges as BERT's ``_is_chinese_char``."""
    return is_cjk_codepoint(ord(char))


def is_punct(char: str) -> bool:
    """BERT's punctuation: ASCII symbols and Unicode category P*."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


@cache
def jieba_tokenizer() -> Any:
    """A private, initialised ``jieba.Tokenizer``: the dictionary loads once a process (~1 s), and the
    global ``jieba`` state (user dictionaries another library added) does not leak in."""
    import jieba

    jieba.setLogLevel(logging.ERROR)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer
