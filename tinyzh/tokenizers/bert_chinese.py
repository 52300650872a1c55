"""The default tokenizer plugin ``bert-chinese``: any Hugging Face tokenizer + a Chinese word segmenter.

Tokens are the model's own (the Hugging Face tokenizer of a model name or local directory: BERT's
WordPiece, SentencePiece Unigram or BPE, byte-level BPE); word boundaries, which whole-word masking
needs, come from the segmenter aligned to the tokens by their character offsets (``align``). Three
paths give the same ids and words as ``encode_words_reference``: plain BERT tokenizers take a
vectorised re-implementation (``fast_bert``; a directory with only ``vocab.txt`` does not even import
transformers until ``hf`` is used), other fast tokenizers a vectorised offset alignment
(``align.OffsetEncoder``), slow ones the reference itself. Usage::

    tok = BertChineseTokenizer("bert-base-chinese")          # or a directory with vocab.txt / tokenizer.json
    enc = tok.encode_words(["我爱北京天安门"])[0]            # input_ids + word_ids (-1: a token of no word)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinyzh.chinese import SPECIAL_TOKENS
from tinyzh.errors import ConfigError
from tinyzh.hf import check_vocab_file, load_hf_tokenizer
from tinyzh.protocols import Encoded
from tinyzh.tokenizers.align import OffsetEncoder, blank_token, word_boundaries
from tinyzh.tokenizers.fast_bert import FlatEncoder
from tinyzh.tokenizers.segment import get_segmenter

__all__ = ["BertChineseTokenizer", "read_plain_vocab", "word_boundaries"]

SPECIAL_ROLES = ("cls", "sep", "pad", "mask", "unk")


def read_plain_vocab(name_or_path: str) -> dict[str, int] | None:
    """token -> id of a directory holding only ``vocab.txt`` (no tokenizer files), else None."""
    path = Path(name_or_path)
    if not path.is_dir() or (path / "tokenizer.json").exists() or (path / "tokenizer_config.json").exists():
        return None
    if not (path / "vocab.txt").exists():
        return None  # load_hf_tokenizer reports the problem
    tokens = check_vocab_file(path / "vocab.txt")
    return {token: index for index, token in enumerate(tokens)}


def read_light_tokenizer(name_or_path: str) -> tuple[Any, dict[str, int | None]] | None:
    """(``tokenizers.Tokenizer``, {role: id}) of a directory whose ``tokenizer.json`` is not plain BERT and
    whose ``tokenizer_config.json`` names all five special tokens; else None (transformers decides).

    This skips importing transformers (seconds and ~200 MB per pregen process); the tests check that
    ids, words and special ids equal ``AutoTokenizer``'s.
    """
    path = Path(name_or_path)
    if not (path / "tokenizer.json").is_file() or not (path / "tokenizer_config.json").is_file():
        return None
    try:
        config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
        names = {role: _token_name(config.get(f"{role}_token")) for role in SPECIAL_ROLES}
        if not all(names.values()):
            return None
        from tokenizers import Tokenizer

        backend = Tokenizer.from_file(str(path / "tokenizer.json"))
        model = json.loads(backend.to_str()).get("model") or {}
    except Exception:  # anything odd (unreadable, unparsable): the full transformers path reports it
        return None
    if model.get("type") == "WordPiece":  # plain BERT keeps its own vectorised path
        return None
    return backend, {role: backend.token_to_id(token) for role, token in names.items()}


def _token_name(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def special_ids(tokenizer: Any, vocab_size: int, name: str) -> dict[str, int]:
    """{role: id} of the five special tokens tinyzh writes; an error when one is missing or misplaced."""
    return check_special_ids({role: getattr(tokenizer, f"{role}_token_id", None) for role in SPECIAL_ROLES},
                             vocab_size, name)


def check_special_ids(ids: dict[str, int | None], vocab_size: int, name: str) -> dict[str, int]:
    """The special ids, checked: all five present, inside the vocabulary, distinct."""
    missing = [role for role, i in ids.items() if i is None]
    if missing:
        raise ConfigError(
            f"tokenizer {name!r} has no {', '.join(r + '_token' for r in missing)}; tinyzh needs cls, sep, pad, mask "
            "and unk tokens (whole-word masking writes the mask token); use a BERT-style encoder's tokenizer")
    outside = {role: i for role, i in ids.items() if not 0 <= i < vocab_size}
    if outside:
        raise ConfigError(f"tokenizer {name!r}: special token ids {outside} lie outside its {vocab_size} tokens")
    by_id: dict[int, list[str]] = {}
    for role, i in ids.items():
        by_id.setdefault(i, []).append(role)
    shared = [roles for roles in by_id.values() if len(roles) > 1]
    if shared:
        raise ConfigError(
            f"tokenizer {name!r}: {' and '.join(shared[0])} tokens share id {ids[shared[0][0]]}; tinyzh needs five "
            "distinct special tokens (cls, sep, pad, mask, unk)")
    return ids


class BertChineseTokenizer:
    """Tokenizer plugin ``bert-chinese``; see the module docstring."""

    def __init__(self, name_or_path: str = "bert-base-chinese", segmenter: str | None = None) -> None:
        self.name = str(name_or_path)
        self.segmenter = get_segmenter(segmenter)
        self._hf: Any = None
        plain = read_plain_vocab(self.name)  # a bare vocab.txt: no need to import transformers (~1.5 s)
        light = None if plain is not None else read_light_tokenizer(self.name)
        self._vocab: dict[str, int]
        if light is not None:  # tokenizer.json with explicit specials: the tokenizers library alone
            backend, named = light
            self._vocab = backend.get_vocab(with_added_tokens=True)
            self.vocab_size = backend.get_vocab_size(with_added_tokens=True)
            ids = check_special_ids(named, self.vocab_size, self.name)
        elif plain is None:
            self._hf = load_hf_tokenizer(self.name)
            self._vocab = self._hf.get_vocab()
            self.vocab_size = len(self._hf)
            ids = special_ids(self._hf, self.vocab_size, self.name)
        else:
            self._vocab = plain
            self.vocab_size = len(plain)
            ids = {k: plain[f"[{k.upper()}]"] for k in SPECIAL_ROLES}
        self.cls_token_id, self.sep_token_id, self.pad_token_id = ids["cls"], ids["sep"], ids["pad"]
        self.mask_token_id, self.unk_token_id = ids["mask"], ids["unk"]
        self._flat: FlatEncoder | OffsetEncoder | None = (
            OffsetEncoder(light[0], self.segmenter.cut_lengths) if light is not None
            else self._make_flat_encoder(plain is not None))

    @property
    def hf(self) -> Any:
        """The Hugging Face (fast) tokenizer, loaded on first use."""
        if self._hf is None:
            self._hf = load_hf_tokenizer(self.name)
            if len(self._hf) != self.vocab_size:  # the light path must agree with transformers
                raise ConfigError(f"tokenizer {self.name!r}: transformers sees {len(self._hf)} tokens, "
                                  f"tokenizer.json {self.vocab_size}; rebuild the tokenizer files")
        return self._hf

    @property
    def kind(self) -> str:
        """How words are found: ``wordpiece-fast`` (tinyzh's own BERT encoder), ``offsets`` (any fast
        tokenizer, aligned by offsets) or ``reference`` (a slow tokenizer, one text at a time)."""
        return {FlatEncoder: "wordpiece-fast", OffsetEncoder: "offsets"}.get(type(self._flat), "reference")

    def encode_words(self, texts: Sequence[str]) -> list[Encoded]:
        if self._flat is None:
            return self.encode_words_reference(texts)
        ids, flags, offsets = self.encode_flat(texts)
        word_ids = np.cumsum(flags == 1, dtype=np.int64)
        out = []
        for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
            base = word_ids[start - 1] if start else 0
            words = np.where(flags[start:end] == 2, -1, word_ids[start:end] - base - 1)
            out.append(Encoded(input_ids=ids[start:end].tolist(), word_ids=words.tolist()))
        return out

    def encode_flat(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All texts at once: ids int32 [T], flags uint8 [T] (1 word start, 0 continuation, 2 no word),
        offsets int64 [n + 1]."""
        if self._flat is None:
            encoded = self.encode_words_reference(texts)
            ids = np.array([i for e in encoded for i in e.input_ids], np.int32)
            flags = np.array([flag_of(e.word_ids, k) for e in encoded for k in range(len(e.word_ids))], np.uint8)
            return ids, flags, np.cumsum([0] + [len(e.input_ids) for e in encoded]).astype(np.int64)
        return self._flat.encode_flat(texts)

    def encode_words_reference(self, texts: Sequence[str]) -> list[Encoded]:
        """The plain way (Hugging Face tokenizer + ``word_boundaries``); the fast paths must equal it."""
        texts = list(texts)
        if not texts:
            return []
        batch = self.hf(texts, add_special_tokens=False, return_offsets_mapping=True,
                        return_attention_mask=False, return_token_type_ids=False)
        out = []
        for i, text in enumerate(texts):
            ids = list(batch["input_ids"][i])
            blank = [blank_token(t or "") for t in self.hf.convert_ids_to_tokens(ids)]
            words = word_boundaries(text, batch["offset_mapping"][i], self.segmenter.cut(text), blank)
            out.append(Encoded(input_ids=ids, word_ids=words))
        return out

    def _reference_one(self, text: str) -> tuple[list[int], list[int]]:
        encoded = self.encode_words_reference([text])[0]
        return encoded.input_ids, encoded.word_ids

    def _make_flat_encoder(self, plain: bool) -> FlatEncoder | OffsetEncoder | None:
        if plain:  # BertTokenizer's defaults for a bare vocab.txt: lowercase, the five special tokens
            lowercase, added = True, list(SPECIAL_TOKENS)
        elif FlatEncoder.supports(self.hf):
            spec = json.loads(self.hf.backend_tokenizer.to_str())
            lowercase, added = bool(spec["normalizer"].get("lowercase")), [t["content"] for t in spec["added_tokens"]]
        elif getattr(self.hf, "is_fast", False):
            return OffsetEncoder(self.hf.backend_tokenizer, self.segmenter.cut_lengths)
        else:
            return None
        return FlatEncoder(self._vocab, self.unk_token_id, lowercase, added, self.segmenter.cut_lengths,
                           self._reference_one)

    def vocab_fingerprint(self) -> str:
        """sha256 of the tokens in id order, each stripped of surrounding whitespace.

        Stripped because transformers' fast tokenizers turn bert-base-chinese's two U+2028 entries
        (ids 343 and 13502) into ``''`` and ``'##'`` while ``vocab.txt`` keeps them: the same
        vocabulary must give the same fingerprint either way.
        """
        joined = "\n".join(token.strip() for token, _ in sorted(self._vocab.items(), key=lambda kv: kv[1]))
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return list(self.hf.convert_ids_to_tokens(list(ids)))

    def save_pretrained(self, directory: str | Path) -> Any:
        return self.hf.save_pretrained(str(directory))


def flag_of(word_ids: Sequence[int], k: int) -> int:
    """Flag of token ``k``: 2 no word, 1 first token of a word, 0 continuation."""
    if word_ids[k] < 0:
        return 2
    return int(k == 0 or word_ids[k] != word_ids[k - 1])
