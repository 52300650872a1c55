"""A checkpoint's tokenizer files: read the token of every id, write them back for a smaller vocabulary.

Supported: ``vocab.txt`` (WordPiece, as BertTokenizer reads it) and ``tokenizer.json`` whose model is
WordPiece, Unigram (SentencePiece) or BPE. Every id inside the files is remapped: the model vocabulary,
Unigram's ``unk_id``, ``added_tokens``, the post-processor's special-token ids, padding, and the
``added_tokens_decoder`` / ``added_tokens.json`` of the transformers files. Kept tokens stay in old-id
order, so the map old id -> new id is monotonic (new id = rank among the kept ids). A BPE model keeps
the merges whose two parts and result are all kept (:mod:`tinyzh.prune.vocab` says why that is enough).
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyzh.errors import ConfigError, InputError
from tinyzh.io import write_atomic

TOKENIZER_JSON = "tokenizer.json"
VOCAB_TXT = "vocab.txt"
TOKENIZER_CONFIG = "tokenizer_config.json"
ADDED_TOKENS = "added_tokens.json"
COPIED_AS_IS = ("special_tokens_map.json",)  # tokenizer files that hold no ids
# Slow-tokenizer files whose ids cannot be rewritten here; tokenizer.json / vocab.txt supersede them.
DROPPED_PATTERNS = ("*.model", "merges.txt", "vocab.json")
BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# Every tokenizer file an output directory may hold (removed before an earlier output is rewritten).
TOKENIZER_FILES = (TOKENIZER_JSON, VOCAB_TXT, TOKENIZER_CONFIG, ADDED_TOKENS, *COPIED_AS_IS, "merges.txt", "vocab.json")
SUPPORTED = "vocab.txt (WordPiece) or tokenizer.json with a WordPiece, Unigram or BPE model"


@dataclass
class SourceTokenizer:
    """What pruning needs to know of a tokenizer directory.

    ``tokens[i]`` is the token of id ``i`` (every id the tokenizer can produce); ``special_ids`` are
    the ids that must survive whatever the texts say (added tokens, post-processor tokens, unk).
    """

    directory: Path
    kind: str  # "wordpiece", "unigram" or "bpe"
    tokens: list[str]
    special_ids: set[int]
    scores: list[float] | None = None  # Unigram piece scores, by id
    byte_fallback: bool = False
    splits_cjk: bool = True  # WordPiece behind BERT's pre-tokenizer: CJK and punctuation are words alone
    merges: list[tuple[str, str]] = field(default_factory=list, repr=False)  # BPE, in rank order
    byte_level: bool = False  # BPE over GPT-2's byte alphabet (a ByteLevel pre-tokenizer)
    tokenizer_json: dict[str, Any] | None = field(default=None, repr=False)
    has_vocab_txt: bool = False


def read_tokenizer(directory: Path) -> SourceTokenizer:
    """The tokenizer of a checkpoint directory; ``ConfigError`` for a kind that cannot be pruned."""
    json_path, txt_path = directory / TOKENIZER_JSON, directory / VOCAB_TXT
    if json_path.is_file():
        source = _from_tokenizer_json(directory, _read_json(json_path))
        if txt_path.is_file():
            _check_same_tokens(txt_path, _read_vocab_txt(txt_path), source.tokens)
            source.has_vocab_txt = True
    elif txt_path.is_file():
        tokens = _read_vocab_txt(txt_path)
        specials = {i for i, token in enumerate(tokens) if token in BERT_SPECIALS}
        source = SourceTokenizer(directory, "wordpiece", tokens, specials, has_vocab_txt=True)
        config = _read_json(directory / TOKENIZER_CONFIG) if (directory / TOKENIZER_CONFIG).is_file() else {}
        source.splits_cjk = config.get("tokenize_chinese_chars", True) is not False
    elif any(directory.glob("*.model")):
        raise ConfigError(f"{directory}: only a slow SentencePiece tokenizer (*.model), no {TOKENIZER_JSON}; write one "
                          "with AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR), then prune")
    else:
        raise ConfigError(f"{directory}: no {TOKENIZER_JSON} or {VOCAB_TXT}; prune-vocab supports {SUPPORTED}")
    source.special_ids |= _config_special_ids(directory, source.tokens)
    return source


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON ({exc.msg})", path, exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError(f"expected a JSON object, found {type(data).__name__}", path)
    return data


def _read_vocab_txt(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:  # as transformers' load_vocab reads it
            return [line.rstrip("\n") for line in handle]
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path) from None


def _check_same_tokens(path: Path, txt_tokens: list[str], json_tokens: list[str]) -> None:
    if txt_tokens != json_tokens[: len(txt_tokens)]:
        first = next((i for i, (a, b) in enumerate(zip(txt_tokens, json_tokens, strict=False)) if a != b), len(json_tokens))
        raise InputError(f"line {first + 1} disagrees with tokenizer.json's vocabulary; remove the stale file "
                         "(tokenizer.json is what fast tokenizers read)", path)


def _from_tokenizer_json(directory: Path, data: dict[str, Any]) -> SourceTokenizer:
    model = data.get("model") or {}
    kind = model.get("type")
    path = directory / TOKENIZER_JSON
    if kind == "WordPiece":
        vocab = model.get("vocab") or {}
        tokens = _tokens_by_id(vocab, path)
        specials = {vocab[model["unk_token"]]} if model.get("unk_token") in vocab else set()
        source = SourceTokenizer(directory, "wordpiece", tokens, specials, splits_cjk=_bert_splits_cjk(data))
    elif kind == "Unigram":
        pieces = model.get("vocab") or []
        tokens, scores = [str(p[0]) for p in pieces], [float(p[1]) for p in pieces]
        specials = {model["unk_id"]} if model.get("unk_id") is not None else set()
        source = SourceTokenizer(directory, "unigram", tokens, specials, scores=scores,
                                 byte_fallback=bool(model.get("byte_fallback")), splits_cjk=False)
    elif kind == "BPE":
        source = _bpe_source(directory, data, path)
    else:
        raise ConfigError(f"{path}: tokenizer model {kind!r} is not supported; prune-vocab supports {SUPPORTED}")
    for added in data.get("added_tokens") or []:
        source.special_ids.add(int(added["id"]))
        while len(source.tokens) <= added["id"]:  # an added token beyond the model vocabulary
            source.tokens.append("")
        source.tokens[added["id"]] = added["content"]
    source.special_ids |= set(processor_ids(data.get("post_processor")))
    source.tokenizer_json = data
    return source


def _bpe_source(directory: Path, data: dict[str, Any], path: Path) -> SourceTokenizer:
    model = data["model"]
    if model.get("dropout"):
        raise ConfigError(f"{path}: BPE dropout {model['dropout']} makes tokenization random; save the tokenizer "
                          "with dropout null to prune it")
    vocab = model.get("vocab") or {}
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model.get("merges") or []]
    specials = {vocab[model["unk_token"]]} if model.get("unk_token") in vocab else set()
    byte_level = any(p.get("type") == "ByteLevel" for p in _nodes(data.get("pre_tokenizer"), "pretokenizers"))
    return SourceTokenizer(directory, "bpe", _tokens_by_id(vocab, path), specials, splits_cjk=False,
                           merges=merges, byte_level=byte_level)  # type: ignore[arg-type]


def merge_result(source: SourceTokenizer, left: str, right: str) -> str:
    """The token a BPE merge makes: the right part loses its continuing-subword prefix, as tokenizers does."""
    prefix = (source.tokenizer_json or {}).get("model", {}).get("continuing_subword_prefix") or ""
    return left + (right[len(prefix):] if prefix and right.startswith(prefix) else right)


def _tokens_by_id(vocab: dict[str, int], path: Path) -> list[str]:
    tokens = [""] * len(vocab)
    for token, index in vocab.items():
        if not 0 <= index < len(vocab) or tokens[index]:
            raise InputError(f"WordPiece ids are not 0..{len(vocab) - 1} without gaps (token {token!r} has {index})",
                             path)
        tokens[index] = token
    return tokens


def _nodes(node: Any, key: str) -> list[dict[str, Any]]:
    """A normalizer / pre-tokenizer and, for a Sequence, every member (``key`` names the member list)."""
    if not isinstance(node, dict):
        return []
    return [node] + [x for child in node.get(key) or [] for x in _nodes(child, key)]


def _bert_splits_cjk(data: dict[str, Any]) -> bool:
    """True when BERT's normalizer puts spaces around CJK and its pre-tokenizer splits punctuation off."""
    normalizers = _nodes(data.get("normalizer"), "normalizers")
    pre_tokenizers = _nodes(data.get("pre_tokenizer"), "pretokenizers")
    return (any(n.get("type") == "BertNormalizer" and n.get("handle_chinese_chars") for n in normalizers)
            and any(p.get("type") == "BertPreTokenizer" for p in pre_tokenizers))


def _config_special_ids(directory: Path, tokens: list[str]) -> set[int]:
    """Ids named by tokenizer_config.json (added_tokens_decoder, *_token strings) and added_tokens.json."""
    ids: set[int] = set()
    index = {token: i for i, token in enumerate(tokens)}
    if (directory / TOKENIZER_CONFIG).is_file():
        config = _read_json(directory / TOKENIZER_CONFIG)
        ids |= {int(key) for key in config.get("added_tokens_decoder") or {}}
        for key, value in config.items():
            content = value.get("content") if isinstance(value, dict) else value
            if key.endswith("_token") and isinstance(content, str) and content in index:
                ids.add(index[content])
    if (directory / ADDED_TOKENS).is_file():
        ids |= {int(i) for i in _read_json(directory / ADDED_TOKENS).values()}
    return ids


# --------------------------------------------------------------------------- post-processor ids
def map_processor(node: Any, fn: Callable[[int], int]) -> Any:
    """A copy of a tokenizer.json post-processor with every token id passed through ``fn``."""
    if node is None:
        return None
    node = copy.deepcopy(node)
    kind = node.get("type")
    if kind == "TemplateProcessing":
        for spec in node.get("special_tokens", {}).values():
            spec["ids"] = [fn(int(i)) for i in spec["ids"]]
    elif kind in ("BertProcessing", "RobertaProcessing"):
        for key in ("sep", "cls"):
            token, old = node[key]
            node[key] = [token, fn(int(old))]
    elif kind == "Sequence":
        node["processors"] = [map_processor(child, fn) for child in node.get("processors", [])]
    elif kind != "ByteLevel":
        raise ConfigError(f"tokenizer.json post-processor {kind!r} is not supported by prune-vocab "
                          "(supported: TemplateProcessing, BertProcessing, RobertaProcessing, Sequence)")
    return node


def processor_ids(node: Any) -> list[int]:
    found: list[int] = []
    map_processor(node, lambda i: found.append(i) or i)
    return found


# --------------------------------------------------------------------------- writing
def write_tokenizer(source: SourceTokenizer, keep: list[int], output: Path) -> list[str]:
    """Write the tokenizer files of the kept ids (sorted old ids) into ``output``; returns dropped files."""
    new_id = {old: new for new, old in enumerate(keep)}
    output.mkdir(parents=True, exist_ok=True)
    if source.has_vocab_txt:
        # Beside a tokenizer.json, vocab.txt mirrors the WordPiece model vocabulary (not added-only tokens).
        size = _model_size(source, keep) if source.tokenizer_json is not None else len(keep)
        lines = [source.tokens[i] for i in keep[:size] if i < len(source.tokens)]
        write_atomic(output / VOCAB_TXT, "".join(token + "\n" for token in lines))
    if source.tokenizer_json is not None:
        data = _remap_tokenizer_json(source, keep, new_id)
        write_atomic(output / TOKENIZER_JSON, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    _write_transformers_files(source.directory, output, new_id)
    for name in COPIED_AS_IS:
        if (source.directory / name).is_file():
            shutil.copyfile(source.directory / name, output / name)
    return sorted({p.name for pattern in DROPPED_PATTERNS for p in source.directory.glob(pattern)})


def _model_size(source: SourceTokenizer, keep: list[int]) -> int:
    """Kept ids that belong to the tokenizer.json model vocabulary (not added-only tokens)."""
    assert source.tokenizer_json is not None
    size = len(source.tokenizer_json["model"]["vocab"])
    return sum(1 for i in keep if i < size)


def _remap_tokenizer_json(source: SourceTokenizer, keep: list[int], new_id: dict[int, int]) -> dict[str, Any]:
    assert source.tokenizer_json is not None
    data = copy.deepcopy(source.tokenizer_json)
    model = data["model"]
    size = _model_size(source, keep)
    if source.kind in ("wordpiece", "bpe"):
        model["vocab"] = {source.tokens[old]: new_id[old] for old in keep[:size]}
    if source.kind == "bpe":
        kept = set(model["vocab"])
        merges = [(a, b) for a, b in source.merges if a in kept and b in kept and merge_result(source, a, b) in kept]
        strings = bool(model.get("merges")) and isinstance(model["merges"][0], str)
        model["merges"] = [f"{a} {b}" for a, b in merges] if strings else [[a, b] for a, b in merges]
    elif source.kind == "unigram":
        # Scores are kept as they are: see tinyzh.prune.vocab for why the Viterbi path cannot change.
        model["vocab"] = [model["vocab"][old] for old in keep[:size]]
        if model.get("unk_id") is not None:
            model["unk_id"] = new_id[model["unk_id"]]
    for added in data.get("added_tokens") or []:
        added["id"] = new_id[added["id"]]
    data["post_processor"] = map_processor(data.get("post_processor"), new_id.__getitem__)
    padding = data.get("padding")
    if isinstance(padding, dict) and padding.get("pad_id") in new_id:
        padding["pad_id"] = new_id[padding["pad_id"]]
    return data


def _write_transformers_files(directory: Path, output: Path, new_id: dict[int, int]) -> None:
    if (directory / TOKENIZER_CONFIG).is_file():
        config = _read_json(directory / TOKENIZER_CONFIG)
        if "added_tokens_decoder" in config:
            config["added_tokens_decoder"] = {str(new_id[int(k)]): v for k, v in config["added_tokens_decoder"].items()}
        write_atomic(output / TOKENIZER_CONFIG, json.dumps(config, ensure_ascii=False, indent=2) + "\n")
    if (directory / ADDED_TOKENS).is_file():
        added = {token: new_id[int(i)] for token, i in _read_json(directory / ADDED_TOKENS).items()}
        write_atomic(output / ADDED_TOKENS, json.dumps(added, ensure_ascii=False, indent=2) + "\n")
