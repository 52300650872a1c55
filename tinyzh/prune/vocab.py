"""Which token ids a pruned vocabulary keeps.

Kept: the special ids (added tokens, post-processor tokens, unk, the config's pad/bos/eos...), every id
the given texts produce, and by default (``keep_basic``) every single-character CJK, ASCII, Latin-1,
full-width ASCII, punctuation and symbol token, so unseen Chinese text still tokenizes without ``[UNK]``.

Why the given texts tokenize exactly as before (the pruned vocabulary is a subset that holds every
token they produce):

- WordPiece is greedy longest-match-first within a word: at each position it takes the longest vocabulary
  entry that matches. Every entry longer than the one it took was absent before and is absent now, and the
  one it took is kept, so each choice is the same. A word that became ``[UNK]`` failed at some position
  where no entry matched; with fewer entries it still fails.
- Unigram (SentencePiece) takes the segmentation of the highest total score (Viterbi). Dropping pieces
  only removes candidate paths; the best path uses kept pieces only, so it stays the best, with the same
  scores. One catch: where no single-character piece starts, the lattice gets an unknown node scored
  ``min(score) - 10``, and dropping the lowest-scoring pieces would raise that score, possibly above a
  dropped single-character piece's. So the lowest-scoring piece is always kept: the unknown score stays
  what it was, below every piece, and any path through an unknown node scores less than the same path
  through the piece it replaces, which already lost.
- BPE applies, again and again, the lowest-ranked merge of two adjacent symbols whose result is in the
  vocabulary. The texts' final tokens are kept together with every token any merge producing them is
  made of, recursively (a superset of the merges the texts used), and a merge stays when its parts and
  result are all kept. On a text the symbols are the same at every step: the merge taken before is still
  there and still the lowest-ranked one that applies, since the merges that apply now are a subset.

Usage::

    keep, used = choose_ids(source, encodings, extra_ids={pad_id}, keep_basic=True)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from tinyzh.chinese import is_cjk
from tinyzh.prune.tokenizer import SourceTokenizer, merge_result

WORD_START = "\u2581"  # SentencePiece's "▁"
CONTINUATION = "##"  # WordPiece's continuing-subword prefix


@dataclass
class Choice:
    """The kept old ids (sorted) and how many came from each source (a token may have several)."""

    keep: list[int]
    special: int
    from_texts: int
    basic: int


def is_basic_char(char: str) -> bool:
    """A CJK ideograph, printable ASCII or Latin-1, full-width ASCII (！ to ～), or any Unicode punctuation
    or symbol (℃, ×, ¥, ①, emoji: common in Chinese news and reviews)."""
    cp = ord(char)
    return (0x21 <= cp <= 0x7E or 0xA1 <= cp <= 0xFF or 0xFF01 <= cp <= 0xFF5E or is_cjk(char)
            or unicodedata.category(char)[0] in "PS")


def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-in character of each byte -> the byte (the ByteLevel alphabet)."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    moved = [b for b in range(256) if b not in kept]  # shifted past 255, in byte order
    return {**{chr(b): b for b in kept}, **{chr(256 + k): b for k, b in enumerate(moved)}}


BYTE_DECODER = _byte_decoder()


def _core(source: SourceTokenizer, token: str) -> str:
    """The text a BPE token stands for: byte-level tokens decoded, subword prefix and word suffix removed."""
    model = (source.tokenizer_json or {}).get("model", {})
    prefix, suffix = model.get("continuing_subword_prefix") or "", model.get("end_of_word_suffix") or ""
    if prefix and token.startswith(prefix) and len(token) > len(prefix):
        token = token[len(prefix):]
    if suffix and token.endswith(suffix) and len(token) > len(suffix):
        token = token[: -len(suffix)]
    if source.byte_level:
        try:
            return bytes(BYTE_DECODER[c] for c in token).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            return ""
    return token


def bpe_basic_ids(source: SourceTokenizer) -> set[int]:
    """Every one-symbol token (the alphabet: byte-level BPE then never needs an unknown) and every token
    that stands for one basic character."""
    return {i for i, token in enumerate(source.tokens)
            if len(token) == 1 or (len(core := _core(source, token)) == 1 and is_basic_char(core))}


def bpe_closure(source: SourceTokenizer, ids: set[int]) -> set[int]:
    """``ids`` plus the parts of every merge that makes one of them, recursively."""
    makers: dict[str, list[tuple[str, str]]] = {}
    for left, right in source.merges:
        makers.setdefault(merge_result(source, left, right), []).append((left, right))
    index = {token: i for i, token in enumerate(source.tokens)}
    found, todo = set(ids), [source.tokens[i] for i in ids if i < len(source.tokens)]
    while todo:
        for part in (p for pair in makers.get(todo.pop(), ()) for p in pair):
            if part in index and index[part] not in found:
                found.add(index[part])
                todo.append(part)
    return found


def basic_ids(source: SourceTokenizer) -> set[int]:
    """Single-character tokens of basic characters, with the word-start or continuation marks that
    let any word of them tokenize: ``▁`` alone for Unigram; ``##x`` for WordPiece (only ASCII letters and
    digits behind BERT's pre-tokenizer, which puts every CJK character and punctuation mark in a word alone)."""
    ids = set()
    for i, token in enumerate(source.tokens):
        core = token
        if source.kind == "wordpiece" and token.startswith(CONTINUATION) and len(token) == 3:
            core = token[2:]
            if source.splits_cjk and not (core.isascii() and core.isalnum()):
                continue
        if source.kind == "unigram" and token == WORD_START:
            ids.add(i)
        elif len(core) == 1 and is_basic_char(core):
            ids.add(i)
        elif source.byte_fallback and len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            ids.add(i)  # <0xE4>: byte pieces spell out any character the vocabulary lacks
    return ids


def choose_ids(source: SourceTokenizer, encodings: Iterable[list[int]], *, extra_ids: Iterable[int] = (),
               keep_basic: bool = True) -> Choice:
    """Kept ids, in old-id order, from the ids the texts produced (one list per text)."""
    used: set[int] = set()
    for ids in encodings:
        used.update(ids)
    special = set(source.special_ids) | set(extra_ids)
    if source.scores:  # keep the lowest score, so Unigram's unknown-node score stays the same
        special.add(min(range(len(source.scores)), key=source.scores.__getitem__))
    if source.kind == "bpe":  # merge chains count with the tokens that need them
        used = bpe_closure(source, used)
        basic = bpe_closure(source, bpe_basic_ids(source)) if keep_basic else set()
        if source.byte_level:  # always the byte alphabet: without it an unseen byte would vanish silently
            basic |= {i for i, token in enumerate(source.tokens) if len(token) == 1 and token in BYTE_DECODER}
    else:
        basic = basic_ids(source) if keep_basic else set()
    keep = sorted(special | used | basic)
    return Choice(keep=keep, special=len(special), from_texts=len(used - special), basic=len(basic - used - special))
