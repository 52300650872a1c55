"""One chunk -> one shard per epoch: tokenize once, then build and mask ``epochs`` times.

Randomness comes only from ``(seed, epoch, chunk index)``, never from the worker, so any number
of workers writes the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyzh.io import write_atomic
from tinyzh.pregen.config import PregenConfig
from tinyzh.pregen.corpus import Chunk
from tinyzh.pregen.instances import ChunkTokens, InstanceBuilder, Sentences, assemble
from tinyzh.pregen.masking import MaskSpec, mask_rows
from tinyzh.pregen.shards import write_shard


@dataclass
class ChunkResult:
    """What a worker reports for a chunk (also saved beside the shards for resuming)."""

    index: int
    documents: int
    shards: list[dict[str, Any]]  # [{file, epoch, chunk, num_instances, num_tokens, sha256}]
    stats: dict[str, Any] = field(default_factory=dict)  # counts, and the chunk text's sha256

    @property
    def instances(self) -> int:
        return sum(s["num_instances"] for s in self.shards)


def rngs(seed: int, epoch: int, chunk: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Generators for building and for masking one chunk's instances in one epoch."""
    build, mask = np.random.SeedSequence([seed, epoch, chunk]).spawn(2)
    return np.random.default_rng(build), np.random.default_rng(mask)


def tokenize_chunk(tokenizer: Any, documents: list[list[str]]) -> ChunkTokens:
    """Flat token ids and word flags (1 start, 0 continuation, 2 no word) of every line of the chunk."""
    lines = [line for doc in documents for line in doc]
    doc_lines = np.cumsum([0] + [len(doc) for doc in documents])
    if hasattr(tokenizer, "encode_flat"):  # the fast path of bert-chinese
        ids, flags, offsets = tokenizer.encode_flat(lines)
        return ChunkTokens(ids.astype(np.int32, copy=False), flags.astype(np.uint8, copy=False), offsets, doc_lines)
    encoded = tokenizer.encode_words(lines)  # any plugin: Encoded(input_ids, word_ids) per line
    lengths = [len(e.input_ids) for e in encoded]
    ids = np.fromiter((t for e in encoded for t in e.input_ids), np.int32, sum(lengths))
    flags = np.ones(len(ids), np.uint8)
    offsets = np.cumsum([0, *lengths])
    for e, start in zip(encoded, offsets[:-1].tolist(), strict=True):
        w = np.asarray(e.word_ids)
        if len(w) > 1:
            flags[start + 1 : start + len(w)] = w[1:] != w[:-1]
        flags[start : start + len(w)][w < 0] = 2  # tokens of no word (a lone ``▁``): never masked
    return ChunkTokens(ids, flags, offsets, doc_lines)


def apply_masks(rows: dict[str, np.ndarray], spec: MaskSpec, np_rng: np.random.Generator) -> None:
    """Whole-word mask every row; adds num_masked, masked_positions, masked_labels."""
    masked, counts, positions, labels = mask_rows(rows["input_ids"], rows["word_flags"], rows["lengths"], spec, np_rng)
    rows.update(input_ids=masked, num_masked=counts, masked_positions=positions, masked_labels=labels)


def rows_without_words(rows: dict[str, np.ndarray]) -> int:
    """Rows with no maskable word (every token a special or a token of no word)."""
    if not len(rows["lengths"]):
        return 0
    starts = (rows["word_flags"] == 1).astype(np.int64)
    per_row = np.add.reduceat(starts, np.cumsum(rows["lengths"]) - rows["lengths"])
    return int((per_row == 0).sum())


def no_masks(rows: dict[str, np.ndarray]) -> None:
    rows["num_masked"] = np.zeros(len(rows["lengths"]), np.int64)
    rows["masked_positions"] = np.zeros(0, np.int64)
    rows["masked_labels"] = np.zeros(0, np.int64)


class ChunkWorker:
    """Holds the tokenizer and writes shards; one per process."""

    def __init__(self, config: PregenConfig, tokenizer: Any, spec: MaskSpec) -> None:
        self.config = config
        self.tokenizer = tokenizer
        self.spec = spec

    def run(self, chunk: Chunk) -> ChunkResult:
        cfg = self.config
        tokens = tokenize_chunk(self.tokenizer, chunk.documents)
        sentences = Sentences.of(tokens)
        stats = {"empty_after_tokenizing": sentences.empty_documents, "tokens": int(len(tokens.ids)),
                 "unknown_tokens": int((tokens.ids == self.tokenizer.unk_token_id).sum()),
                 "instances_without_words": 0}
        shards = []
        for epoch in range(cfg.epochs):
            build_rng, mask_rng = rngs(cfg.seed, epoch, chunk.index)
            ranges = InstanceBuilder(tokens, sentences, cfg, build_rng).build()
            rows = assemble(tokens, ranges, self.tokenizer.cls_token_id, self.tokenizer.sep_token_id,
                            pair=cfg.pair_task != "none")
            stats["instances_without_words"] += rows_without_words(rows)
            if cfg.masking == "static":
                apply_masks(rows, self.spec, mask_rng)
            else:
                no_masks(rows)
            name = shard_name(epoch, chunk.index)
            meta = {"epoch": epoch, "chunk": chunk.index, "num_instances": len(rows["lengths"])}
            digest = write_shard(cfg.output / name, rows, self.spec.vocab_size, meta)
            shards.append({"file": name, "epoch": epoch, "chunk": chunk.index, "num_instances": len(rows["lengths"]),
                           "num_tokens": int(len(rows["input_ids"])), "sha256": digest})
        stats["source_sha256"] = chunk.digest()
        result = ChunkResult(chunk.index, len(chunk.documents), shards, stats)
        save_result(cfg.output, result)
        return result


def shard_name(epoch: int, chunk: int) -> str:
    return f"shard-e{epoch:03d}-c{chunk:06d}.bin"


def result_path(output: Path, chunk: int) -> Path:
    return output / ".chunks" / f"chunk-{chunk:06d}.json"


def save_result(output: Path, result: ChunkResult) -> None:
    """Record a finished chunk (after its shards exist) so a rerun can skip it."""
    path = result_path(output, result.index)
    path.parent.mkdir(exist_ok=True)
    data = {"index": result.index, "documents": result.documents, "shards": result.shards, "stats": result.stats}
    write_atomic(path, json.dumps(data, sort_keys=True))


def load_result(output: Path, chunk: int) -> ChunkResult | None:
    path = result_path(output, chunk)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ChunkResult(data["index"], data["documents"], data["shards"], data["stats"])
    except (OSError, ValueError, KeyError):
        return None
