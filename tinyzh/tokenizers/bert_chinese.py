"""The default tokenizer plugin ``bert-chinese``: BERT WordPiece + a Chinese word segmenter.

Tokens are BERT's (the Hugging Face tokenizer of a model name or local directory); word
boundaries, which whole-word masking needs, come from the segmenter for Chinese text and from
BERT's own pre-tokenization (whitespace and punctuation splits) for everything else. For plain
BERT tokenizers ``encode_words``/``encode_flat`` take a vectorised path (``fast_bert``) that gives
the same ids and words as ``encode_words_reference``; a directory with only ``vocab.txt`` does not
even import transformers until ``hf`` is used. Usage::

    tok = BertChineseTokenizer("bert-base-chinese")          # or a directory with vocab.txt
    enc = tok.encode_words(["我爱北京天安门"])[0]            # input_ids + word_ids
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyzh.errors import ConfigError
from tinyzh.protocols import Encoded
from tinyzh.tokenizers.fast_bert import FlatEncoder
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


SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def read_plain_vocab(name_or_path: str) -> dict[str, int] | None:
    """token -> id of a directory holding only ``vocab.txt`` (no tokenizer files), else None."""
    path = Path(name_or_path)
    if not path.is_dir() or (path / "tokenizer.json").exists() or (path / "tokenizer_config.json").exists():
        return None
    try:
        with open(path / "vocab.txt", encoding="utf-8") as handle:  # as transformers' load_vocab reads it
            tokens = handle.readlines()
    except (OSError, UnicodeDecodeError):
        return None  # load_hf_tokenizer reports the problem
    vocab = {token.rstrip("\n"): index for index, token in enumerate(tokens)}
    if len(vocab) != len(tokens) or not all(t in vocab for t in SPECIAL_TOKENS):
        return None  # duplicates or missing specials: let transformers decide what they mean
    return vocab


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
    for (start, end), pre in zip(offsets, pre_ids, strict=True):
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
        self.segmenter = get_segmenter(segmenter)
        self._hf: Any = None
        plain = read_plain_vocab(self.name)  # a bare vocab.txt: no need to import transformers (~1.5 s)
        if plain is None:
            self._hf = load_hf_tokenizer(self.name)
            self._vocab: dict[str, int] = self._hf.get_vocab()
            self.vocab_size = len(self._hf)
            ids = {k: getattr(self._hf, f"{k}_token_id") for k in ("cls", "sep", "pad", "mask", "unk")}
        else:
            self._vocab = plain
            self.vocab_size = len(plain)
            ids = {k: plain[f"[{k.upper()}]"] for k in ("cls", "sep", "pad", "mask", "unk")}
        self.cls_token_id, self.sep_token_id, self.pad_token_id = ids["cls"], ids["sep"], ids["pad"]
        self.mask_token_id, self.unk_token_id = ids["mask"], ids["unk"]
        self._flat = self._make_flat_encoder(plain is not None)

    @property
    def hf(self) -> Any:
        """The Hugging Face (fast) tokenizer, loaded on first use."""
        if self._hf is None:
            self._hf = load_hf_tokenizer(self.name)
        return self._hf

    def encode_words(self, texts: Sequence[str]) -> list[Encoded]:
        if self._flat is None:
            return self.encode_words_reference(texts)
        ids, flags, offsets = self.encode_flat(texts)
        word_ids = np.cumsum(flags, dtype=np.int64)
        out = []
        for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
            base = word_ids[start - 1] if start else 0
            out.append(Encoded(input_ids=ids[start:end].tolist(), word_ids=(word_ids[start:end] - base - 1).tolist()))
        return out

    def encode_flat(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All texts at once: ids int32 [T], word-start flags uint8 [T], offsets int64 [n + 1]."""
        if self._flat is None:
            encoded = self.encode_words_reference(texts)
            ids = np.array([i for e in encoded for i in e.input_ids], np.int32)
            flags = np.array([int(k == 0 or w[k] != w[k - 1]) for e in encoded for k, w in
                              ((k, e.word_ids) for k in range(len(e.word_ids)))], np.uint8)
            return ids, flags, np.cumsum([0] + [len(e.input_ids) for e in encoded]).astype(np.int64)
        return self._flat.encode_flat(texts)

    def encode_words_reference(self, texts: Sequence[str]) -> list[Encoded]:
        """The plain way (Hugging Face tokenizer + ``word_boundaries``); the fast path must equal it."""
        texts = list(texts)
        if not texts:
            return []
        batch = self.hf(texts, add_special_tokens=False, return_offsets_mapping=True,
                        return_attention_mask=False, return_token_type_ids=False)
        out = []
        for i, text in enumerate(texts):
            offsets = batch["offset_mapping"][i]
            ids = word_boundaries(text, offsets, batch.word_ids(i), self.segmenter.cut(text))
            out.append(Encoded(input_ids=list(batch["input_ids"][i]), word_ids=ids))
        return out

    def _reference_one(self, text: str) -> tuple[list[int], list[int]]:
        encoded = self.encode_words_reference([text])[0]
        return encoded.input_ids, encoded.word_ids

    def _make_flat_encoder(self, plain: bool) -> FlatEncoder | None:
        if plain:  # BertTokenizer's defaults for a bare vocab.txt: lowercase, the five special tokens
            lowercase, added = True, list(SPECIAL_TOKENS)
        elif FlatEncoder.supports(self.hf):
            spec = json.loads(self.hf.backend_tokenizer.to_str())
            lowercase, added = bool(spec["normalizer"].get("lowercase")), [t["content"] for t in spec["added_tokens"]]
        else:
            return None
        return FlatEncoder(self._vocab, self.unk_token_id, lowercase, added, self.segmenter.cut_lengths,
                           self._reference_one)

    def vocab_fingerprint(self) -> str:
        vocab = self._vocab
        joined = "\n".join(token for token, _ in sorted(vocab.items(), key=lambda kv: kv[1]))
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return list(self.hf.convert_ids_to_tokens(list(ids)))

    def save_pretrained(self, directory: str | Path) -> Any:
        return self.hf.save_pretrained(str(directory))
