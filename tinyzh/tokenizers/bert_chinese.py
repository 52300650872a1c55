"""The default tokenizer plugin ``bert-chinese``: BERT WordPiece + a Chinese word segmenter.

Tokens come from the fast (Rust) BERT tokenizer of a model name or local directory; word
boundaries, which whole-word masking needs, come from the segmenter for Chinese text and from
BERT's own pre-tokenization (whitespace and punctuation splits) for everything else. Usage::

    tok = BertChineseTokenizer("bert-base-chinese")          # or a directory with vocab.txt
    enc = tok.encode_words(["我爱北京天安门"])[0]            # input_ids + word_ids
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinyzh.errors import ConfigError
from tinyzh.protocols import Encoded
from tinyzh.tokenizers.segment import get_segmenter


def is_cjk(char: str) -> bool:
    """CJK ideograph, using the same ranges as BERT's ``_is_chinese_char``."""
    cp = ord(char)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def load_hf_tokenizer(name_or_path: str) -> Any:
    """A fast BERT tokenizer from a hub name or a directory (``vocab.txt`` alone is enough)."""
    from transformers import AutoTokenizer, BertTokenizer

    path = Path(name_or_path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--tokenizer {name_or_path}: expected a directory with vocab.txt or tokenizer files")
    try:
        if path.is_dir() and not (path / "tokenizer.json").exists() and not (path / "tokenizer_config.json").exists():
            if not (path / "vocab.txt").exists():
                raise ConfigError(f"--tokenizer {name_or_path}: directory has no vocab.txt or tokenizer.json")
            return BertTokenizer.from_pretrained(str(path))
        return AutoTokenizer.from_pretrained(name_or_path)
    except ConfigError:
        raise
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"could not load tokenizer {name_or_path!r} ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "give a local directory with vocab.txt when offline"
        ) from None


def word_boundaries(text: str, offsets: Sequence[tuple[int, int]], pre_ids: Sequence[int | None], words: Sequence[str]) -> list[int]:
    """Word index of every token (0-based, contiguous, increasing).

    ``offsets`` are the tokens' character spans in ``text``, ``pre_ids`` their BERT pre-token
    indices, ``words`` the segmenter's cut of ``text``. A token joins the previous token's word when
    both belong to one BERT pre-token (WordPiece pieces of ``iphone12``) or to one segmenter word that
    contains a Chinese character (``北京`` -> 北, 京); runs without Chinese characters are split where
    BERT splits them, whatever the segmenter did with them.
    """
    # char -> key: segmenter word index for words with a CJK char, else -1 (use pre-token).
    char_key: list[int] = []
    for index, word in enumerate(words):
        key = index if any(is_cjk(c) for c in word) else -1
        char_key.extend([key] * len(word))
    word_ids: list[int] = []
    current = -1
    prev_pre: int | None = None
    prev_key = -2
    for (start, end), pre in zip(offsets, pre_ids):
        key = char_key[start] if start < len(char_key) else -1
        same = word_ids and ((pre is not None and pre == prev_pre) or (key >= 0 and key == prev_key))
        if not same:
            current += 1
        word_ids.append(current)
        prev_pre = pre
        # A token spanning several segmenter words pulls the next token into the last of them.
        prev_key = char_key[end - 1] if 0 < end <= len(char_key) else -1
    return word_ids


class BertChineseTokenizer:
    """Tokenizer plugin ``bert-chinese``; see the module docstring."""

    def __init__(self, name_or_path: str = "bert-base-chinese", segmenter: str = "jieba") -> None:
        self.name = str(name_or_path)
        self.hf = load_hf_tokenizer(self.name)
        self.segmenter = get_segmenter(segmenter)
        self.vocab_size = len(self.hf)
        self.cls_token_id = self.hf.cls_token_id
        self.sep_token_id = self.hf.sep_token_id
        self.pad_token_id = self.hf.pad_token_id
        self.mask_token_id = self.hf.mask_token_id
        self.unk_token_id = self.hf.unk_token_id

    def encode_words(self, texts: Sequence[str]) -> list[Encoded]:
        texts = list(texts)
        batch = self.hf(texts, add_special_tokens=False, return_offsets_mapping=True,
                        return_attention_mask=False, return_token_type_ids=False)
        out = []
        for i, text in enumerate(texts):
            offsets = batch["offset_mapping"][i]
            ids = word_boundaries(text, offsets, batch.word_ids(i), self.segmenter.cut(text))
            out.append(Encoded(input_ids=list(batch["input_ids"][i]), word_ids=ids))
        return out

    def vocab_fingerprint(self) -> str:
        vocab = self.hf.get_vocab()
        joined = "\n".join(token for token, _ in sorted(vocab.items(), key=lambda kv: kv[1]))
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return list(self.hf.convert_ids_to_tokens(list(ids)))

    def save_pretrained(self, directory: str | Path) -> Any:
        return self.hf.save_pretrained(str(directory))
