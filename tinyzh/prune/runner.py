"""``prune_model``: a checkpoint with only the vocabulary some texts need, and what that saved.

Steps: read the tokenizer files, tokenize the texts with the original tokenizer, choose the ids to keep
(:mod:`tinyzh.prune.vocab`), slice the model's vocabulary rows (:mod:`tinyzh.prune.model`), write the model
(``save_pretrained``) and the rebuilt tokenizer files, then reload the pruned tokenizer and check that
every text gives the original ids mapped to the new ones. ``prune_vocab.json`` records the source,
the texts' files, the counts and the old id of every new id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinyzh.errors import ConfigError, TinyzhError
from tinyzh.hf import quiet_transformers
from tinyzh.io import write_atomic
from tinyzh.prune.model import (
    config_token_ids,
    load_model,
    parameter_count,
    prune_rows,
    remap_config,
    vocab_rows,
)
from tinyzh.prune.tokenizer import TOKENIZER_FILES, SourceTokenizer, read_tokenizer, write_tokenizer
from tinyzh.prune.vocab import choose_ids

RECORD = "prune_vocab.json"
BATCH = 1024  # texts per encode_batch call


@dataclass
class PruneReport:
    """Counts before and after; MB are of the distinct parameters at their stored precision (1e6 bytes)."""

    source: str
    output: str
    tokenizer: str  # "wordpiece", "unigram" or "bpe"
    texts: int
    tokens_before: int
    tokens_after: int
    special: int
    from_texts: int
    basic: int
    params_before: int
    params_after: int
    bytes_before: int
    bytes_after: int
    embedding_params_before: int
    embedding_params_after: int
    sliced: list[str] = field(default_factory=list)
    dropped_files: list[str] = field(default_factory=list)

    @property
    def mb_before(self) -> float:
        return self.bytes_before / 1e6

    @property
    def mb_after(self) -> float:
        return self.bytes_after / 1e6

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_tokenizer(directory: Path) -> Any:
    """The fast tokenizer of a directory; one with only vocab.txt (no config) loads as BertTokenizer."""
    from transformers import AutoTokenizer, BertTokenizer

    try:
        with quiet_transformers():
            if not (directory / "tokenizer.json").exists() and not (directory / "tokenizer_config.json").exists():
                return BertTokenizer.from_pretrained(str(directory))
            return AutoTokenizer.from_pretrained(str(directory))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"could not load the tokenizer of {directory} "
                          f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None


def encode(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Ids of each text with the special tokens the tokenizer adds, never truncated."""
    backend = tokenizer.backend_tokenizer
    backend.no_truncation()
    out: list[list[int]] = []
    for start in range(0, len(texts), BATCH):
        out.extend(e.ids for e in backend.encode_batch(list(texts[start:start + BATCH]), add_special_tokens=True))
    return out


def prune_model(model: str | Path, texts: Sequence[str], output: str | Path, *, keep_basic: bool = True,
                text_files: Sequence[str | Path] = ()) -> PruneReport:
    """Prune checkpoint directory ``model`` to the vocabulary ``texts`` need and save it in ``output``."""
    source_dir, out_dir = Path(model), Path(output)
    if not source_dir.is_dir():
        raise ConfigError(f"MODEL {model}: not a directory; give a local checkpoint (config.json, weights, "
                          "tokenizer files), e.g. one downloaded with `hf download NAME --local-dir DIR`")
    if out_dir.resolve() == source_dir.resolve():
        raise ConfigError(f"--output {output} is the model directory itself; give a new directory")
    if not texts:
        raise ConfigError("no texts to prune for: give --corpus and/or --task with --data")
    source = read_tokenizer(source_dir)
    net = load_model(source_dir)
    rows = vocab_rows(net)
    if len(source.tokens) > rows:
        raise ConfigError(f"{source_dir}: the tokenizer has {len(source.tokens)} ids but the model's embeddings "
                          f"only {rows} rows; they do not belong together")
    encodings = encode(load_tokenizer(source_dir), texts)
    extra = {i for i in config_token_ids(net.config) if 0 <= i < rows}
    choice = choose_ids(source, encodings, extra_ids=extra, keep_basic=keep_basic)
    report = _measure_before(net, source, source_dir, out_dir, len(texts))
    report.sliced = prune_rows(net, choice.keep)
    remap_config(net.config, choice.keep)
    _prepare_output(out_dir)
    with quiet_transformers():
        net.save_pretrained(str(out_dir))
    report.dropped_files = write_tokenizer(source, choice.keep, out_dir)
    _check_same_tokens(out_dir, texts, encodings, choice.keep)
    _measure_after(report, net, choice)
    _write_record(out_dir, report, choice.keep, text_files)
    return report


def _prepare_output(out_dir: Path) -> None:
    """A new or empty directory, or an earlier prune-vocab output whose tokenizer files are removed first
    (a stale tokenizer.json would shadow a new vocab.txt)."""
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not (out_dir / RECORD).is_file():
            raise ConfigError(f"--output {out_dir} is not empty and not a prune-vocab output; give a new directory")
        for name in (*TOKENIZER_FILES, RECORD):
            (out_dir / name).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)


def _measure_before(net: Any, source: SourceTokenizer, source_dir: Path, out_dir: Path, texts: int) -> PruneReport:
    params, size = parameter_count(net)
    embedding = net.get_input_embeddings().weight.numel()
    return PruneReport(source=str(source_dir), output=str(out_dir), tokenizer=source.kind, texts=texts,
                       tokens_before=vocab_rows(net), tokens_after=0, special=0, from_texts=0, basic=0,
                       params_before=params, params_after=0, bytes_before=size, bytes_after=0,
                       embedding_params_before=embedding, embedding_params_after=0)


def _measure_after(report: PruneReport, net: Any, choice: Any) -> None:
    report.params_after, report.bytes_after = parameter_count(net)
    report.embedding_params_after = net.get_input_embeddings().weight.numel()
    report.tokens_after = len(choice.keep)
    report.special, report.from_texts, report.basic = choice.special, choice.from_texts, choice.basic


def _check_same_tokens(out_dir: Path, texts: Sequence[str], before: list[list[int]], keep: list[int]) -> None:
    """The pruned tokenizer, as users will load it, must give every text the original ids, remapped."""
    new_id = {old: new for new, old in enumerate(keep)}
    after = encode(load_tokenizer(out_dir), texts)
    for k, (old, new) in enumerate(zip(before, after, strict=True)):
        if [new_id.get(i, -1) for i in old] != new:
            raise TinyzhError(f"internal check failed: text {k + 1} ({texts[k][:40]!r}) tokenizes differently after "
                              f"pruning; {out_dir} is not usable, please report this with the model")


def _write_record(out_dir: Path, report: PruneReport, keep: list[int], text_files: Sequence[str | Path]) -> None:
    kept = json.dumps(keep, separators=(",", ":"))
    record = {
        **report.to_dict(),
        "text_files": [str(p) for p in text_files],
        "kept_old_ids_sha256": hashlib.sha256(kept.encode("utf-8")).hexdigest(),
        "kept_old_ids": keep,  # new id i was old id kept_old_ids[i]
    }
    write_atomic(out_dir / RECORD, json.dumps(record, ensure_ascii=False) + "\n")
