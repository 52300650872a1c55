"""``run_pregen``: stream the corpus in chunks to worker processes and write the manifest.

The main process reads and cleans the corpus and hands out chunks, at most ``2 * workers`` at a
time, so memory stays flat; workers tokenize, build, mask and write shards. A chunk whose shards are
already on disk with the recorded sha256 (an interrupted earlier run) is not redone.
Usage::

    manifest = run_pregen(PregenConfig(corpus=[Path("corpus.txt")], output=Path("pregen")))
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyzh.errors import ConfigError
from tinyzh.io import remove_temp_files, write_atomic, write_json
from tinyzh.lock import output_lock
from tinyzh.plugins import get_tokenizer
from tinyzh.pregen.config import PregenConfig
from tinyzh.pregen.corpus import Chunk, CorpusReader, chunked
from tinyzh.pregen.masking import MaskSpec
from tinyzh.pregen.shards import sha256_file
from tinyzh.pregen.worker import ChunkResult, ChunkWorker, load_result
from tinyzh.report import Reporter

FORMAT_VERSION = 1
# Bumped whenever the same seed gives other instances or masks, so that an interrupted run of an older
# tinyzh is not resumed into a mix of the two (run.json then differs: --overwrite, or a new directory).
SAMPLING_VERSION = 2  # 2: instances built for a whole chunk at once, masks from packed sort keys
PROGRESS = "pregen (MB of corpus)"
MAX_UNKNOWN_SHARE = 0.05  # more unknown tokens than this: the vocabulary does not fit the corpus
UNKNOWN_CHECK_AFTER = 20_000  # tokens seen before the share is trusted mid-run
MANIFEST = "manifest.json"
RUN_FILE = "run.json"  # the identity of the run that owns the directory, written first
SHARD_KEYS = ("file", "epoch", "chunk", "num_instances", "num_tokens", "sha256")  # a manifest shard entry


@dataclass
class Totals:
    documents: int = 0
    instances: int = 0
    resumed_chunks: int = 0


def load_tokenizer(config: PregenConfig) -> Any:
    options = {"segmenter": config.segmenter} if config.segmenter else {}
    return get_tokenizer(config.tokenizer_plugin, config.tokenizer, **options)


def tokenizer_info(tokenizer: Any, config: PregenConfig) -> dict[str, Any]:
    segmenter = getattr(tokenizer, "segmenter", None)
    return {
        "name": config.tokenizer,
        "plugin": config.tokenizer_plugin,
        "segmenter": getattr(segmenter, "name", None),
        "vocab_size": int(tokenizer.vocab_size),
        "vocab_fingerprint": tokenizer.vocab_fingerprint(),
        "mask_token_id": int(tokenizer.mask_token_id),
        "cls_token_id": int(tokenizer.cls_token_id),
        "sep_token_id": int(tokenizer.sep_token_id),
        "pad_token_id": int(tokenizer.pad_token_id),
        "unk_token_id": int(tokenizer.unk_token_id),
    }


def mask_spec(info: dict[str, Any], config: PregenConfig) -> MaskSpec:
    return MaskSpec.from_tokenizer_info(info, config.masked_lm_prob, config.max_predictions_per_seq)


def prepare_output(config: PregenConfig, info: dict[str, Any]) -> None:
    """Create the output directory, or check that it holds (part of) the very same run."""
    out = config.output
    identity = {"config": config.identity(), "vocab_fingerprint": info["vocab_fingerprint"],
                "format_version": FORMAT_VERSION, "sampling_version": SAMPLING_VERSION}
    run_file = out / RUN_FILE
    if config.overwrite and out.exists():
        for path in out.glob("shard-*.bin*"):
            path.unlink()
        shutil.rmtree(out / ".chunks", ignore_errors=True)
        for name in (MANIFEST, RUN_FILE):
            (out / name).unlink(missing_ok=True)
    if run_file.exists():
        try:
            previous = json.loads(run_file.read_text(encoding="utf-8"))
        except ValueError:
            previous = None
        if previous != identity:
            raise ConfigError(
                f"--output {out} holds pregen data made with other settings (see {run_file}); "
                "use a new directory or pass --overwrite"
            )
    elif out.exists() and any(out.glob("shard-*.bin")):
        raise ConfigError(f"--output {out} already holds shards of an unknown run; use a new directory or --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out)
    write_atomic(run_file, json.dumps(identity, indent=2, sort_keys=True))


def remove_leftovers(out: Path) -> None:
    """Temp files of a killed run (half-written shards, chunk records, manifests); the lock is held."""
    for tmp in out.glob("shard-*.bin.tmp"):  # the temp name of shards written before write_atomic's
        tmp.unlink(missing_ok=True)
    remove_temp_files(out)
    remove_temp_files(out / ".chunks")


def finished(config: PregenConfig, chunk: Chunk) -> ChunkResult | None:
    """The recorded result of ``chunk`` if all its shards are on disk with the recorded sha256."""
    result = load_result(config.output, chunk.index)
    if result is None or len(result.shards) != config.epochs or result.stats.get("source_sha256") != chunk.digest():
        return None
    for shard in result.shards:
        path = config.output / shard["file"]
        if not path.is_file() or sha256_file(path) != shard["sha256"]:
            return None
    return result


# --------------------------------------------------------------------------- worker processes
_worker: ChunkWorker | None = None
_inherited: Any = None  # the parent's tokenizer, reused by forked workers instead of loading it again


def _init_worker(config: PregenConfig, spec: MaskSpec) -> None:
    global _worker
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _worker = ChunkWorker(config, _inherited if _inherited is not None else load_tokenizer(config), spec)


def _run_chunk(chunk: Chunk) -> ChunkResult:
    assert _worker is not None, "worker not initialised"
    return _worker.run(chunk)


def _results(config: PregenConfig, chunks: Iterator[Chunk], tokenizer: Any, spec: MaskSpec) -> Iterator[ChunkResult]:
    """Results in chunk order; finished chunks come from disk, the rest from the workers."""
    if config.workers == 1:
        worker = ChunkWorker(config, tokenizer, spec)
        for chunk in chunks:
            yield finished(config, chunk) or worker.run(chunk)
        return
    global _inherited
    fork = "fork" in mp.get_all_start_methods()
    context = mp.get_context("fork" if fork else "spawn")
    _inherited = tokenizer if fork else None
    with context.Pool(config.workers, initializer=_init_worker, initargs=(config, spec)) as pool:
        pending: deque[Any] = deque()
        for chunk in chunks:
            done = finished(config, chunk)
            pending.append(done if done is not None else pool.apply_async(_run_chunk, (chunk,)))
            while len(pending) > 2 * config.workers:
                yield _get(pending.popleft())
        while pending:
            yield _get(pending.popleft())


def _get(item: Any) -> ChunkResult:
    return item if isinstance(item, ChunkResult) else item.get()


def run_pregen(config: PregenConfig, reporter: Reporter | None = None) -> dict[str, Any]:
    """Generate the shards and ``manifest.json`` in ``config.output``; returns the manifest.

    Progress goes to ``reporter`` in MB of corpus read, with documents, instances and instances/s."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # before the tokenizer is used or workers fork
    tokenizer = load_tokenizer(config)
    info = tokenizer_info(tokenizer, config)
    spec = mask_spec(info, config)
    with output_lock(config.output, "pregen"):
        return _run_locked(config, reporter or Reporter(), tokenizer, info, spec)


def _run_locked(config: PregenConfig, reporter: Reporter, tokenizer: Any, info: dict[str, Any],
                spec: MaskSpec) -> dict[str, Any]:
    prepare_output(config, info)
    reader = CorpusReader(config.corpus, max_line_chars=config.max_num_tokens,
                          max_document_chars=config.chunk_chars)
    total_mb, started = reader.total_bytes() / 1e6, time.perf_counter()
    reporter.progress(PROGRESS, 0, round(total_mb, 1))
    totals, shards = Totals(), []
    worker_stats = {"empty_after_tokenizing": 0, "tokens": 0, "unknown_tokens": 0, "instances_without_words": 0}
    chunks = chunked(reader, config.chunk_documents, config.chunk_chars)
    for result in _results(config, chunks, tokenizer, spec):
        totals.documents += result.documents
        totals.instances += result.instances
        shards.extend(result.shards)
        for key in worker_stats:
            worker_stats[key] += result.stats.get(key, 0)
        if worker_stats["tokens"] >= UNKNOWN_CHECK_AFTER:  # fail early, not after the whole corpus
            check_coverage(config, info, worker_stats, totals)
        rate = totals.instances / max(time.perf_counter() - started, 1e-9)
        reporter.progress(PROGRESS, round(reader.bytes_read / 1e6, 1), round(total_mb, 1),
                          {"docs": totals.documents, "instances": totals.instances, "inst/s": round(rate)})
    check_coverage(config, info, worker_stats, totals, final=True)
    manifest = build_manifest(config, info, shards, reader, worker_stats)
    write_json(config.output / MANIFEST, manifest)
    return manifest


def check_coverage(config: PregenConfig, info: dict[str, Any], stats: dict[str, int], totals: Totals,
                   final: bool = False) -> None:
    """Stop when the tokenizer does not cover the corpus (> 5 % unknown tokens) or no word is maskable."""
    tokens, unknown = stats["tokens"], stats["unknown_tokens"]
    if tokens and unknown / tokens > MAX_UNKNOWN_SHARE:
        raise ConfigError(
            f"--tokenizer {config.tokenizer}: {100 * unknown / tokens:.1f} % of the corpus's tokens ({unknown:,} of "
            f"{tokens:,} so far) are the unknown token (id {info['unk_token_id']}), more than "
            f"{100 * MAX_UNKNOWN_SHARE:.0f} %; this vocabulary does not cover the text: use the teacher's own "
            "tokenizer, or check the corpus's encoding")
    if final and totals.instances and stats["instances_without_words"] == totals.instances:
        raise ConfigError(
            f"--tokenizer {config.tokenizer}: none of the {totals.instances:,} instances has a maskable word "
            "(every token is special or stands for no text); check the tokenizer and the corpus")


def build_manifest(config: PregenConfig, info: dict[str, Any], shards: list[dict[str, Any]], reader: CorpusReader,
                   worker_stats: dict[str, int]) -> dict[str, Any]:
    shards = sorted(shards, key=lambda s: (s["epoch"], s["chunk"]))  # epoch-major: epoch 0 first
    # One key order whether a shard was made now or read back from .chunks/ (stored sorted): a resumed
    # run writes the same bytes.
    shards = [{key: s[key] for key in SHARD_KEYS} for s in shards]
    stats = reader.stats.to_dict()
    examples = stats.pop("examples")
    bad_input = {k: stats.pop(k) for k in ("invalid_utf8_lines", "control_char_lines", "long_lines_split",
                                           "empty_documents", "one_sentence_documents", "long_documents_split")}
    bad_input["empty_documents"] += worker_stats["empty_after_tokenizing"]
    bad_input["instances_without_words"] = worker_stats["instances_without_words"]
    bad_input["examples"] = examples
    return {
        "format_version": FORMAT_VERSION,
        "sampling_version": SAMPLING_VERSION,
        "num_instances": sum(s["num_instances"] for s in shards),
        "num_tokens": sum(s["num_tokens"] for s in shards),
        "epochs": config.epochs,
        "max_seq_len": config.max_seq_len,
        "masking": config.masking,
        "pair_task": config.pair_task,
        "seed": config.seed,
        "masked_lm_prob": config.masked_lm_prob,
        "max_predictions_per_seq": config.max_predictions_per_seq,
        "tokenizer": info,
        "corpus": {**stats, "tokens": worker_stats["tokens"], "unknown_tokens": worker_stats["unknown_tokens"]},
        "bad_input": bad_input,
        "config": config.to_dict(),
        "shards": shards,
    }
