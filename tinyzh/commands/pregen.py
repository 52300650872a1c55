"""``tinyzh pregen``: parse options into a ``PregenConfig``, run it with a progress bar, print a summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tinyzh.config import DEFAULT_MAX_SEQ_LEN, DEFAULT_TOKENIZER, DEFAULT_TOKENIZER_PLUGIN


def pregen(
    corpus: Annotated[list[Path], typer.Argument(help="Text files (optionally .gz): one sentence a line, blank line between documents.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the shards and manifest.json.")],
    tokenizer: Annotated[str, typer.Option(help="Model name or directory whose vocabulary is used.")] = DEFAULT_TOKENIZER,
    tokenizer_plugin: Annotated[str, typer.Option(help="Tokenizer plugin that tokenizes and segments.")] = DEFAULT_TOKENIZER_PLUGIN,
    segmenter: Annotated[str | None, typer.Option(help="Word segmenter of bert-chinese: rjieba (default; jieba where it cannot be imported) or jieba (same output, slower).")] = None,
    max_seq_len: Annotated[int, typer.Option(help="Tokens per instance, [CLS] and [SEP] included.")] = DEFAULT_MAX_SEQ_LEN,
    epochs: Annotated[int, typer.Option(help="Differently masked copies of the corpus.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed; output is identical for any --workers.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes (0 = all cores).")] = 0,
    pair_task: Annotated[str, typer.Option(help="nsp (next sentence), sop (sentence order) or none.")] = "nsp",
    masking: Annotated[str, typer.Option(help="static (masks stored) or dynamic (masked at read time).")] = "static",
    masked_lm_prob: Annotated[float, typer.Option(help="Share of tokens to mask.")] = 0.15,
    max_predictions_per_seq: Annotated[int, typer.Option(help="At most this many masked tokens per instance.")] = 20,
    short_seq_prob: Annotated[float, typer.Option(help="Share of instances with a shorter random target length.")] = 0.1,
    chunk_documents: Annotated[int, typer.Option(help="Documents per chunk (one shard per chunk and epoch).")] = 2000,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace pregen data of another run in --output.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Make BERT pre-training instances with Chinese whole-word masking, as binary shards.

    Example: tinyzh pregen corpus.txt --output pregen/ --tokenizer ./bert-base-chinese --epochs 3

    An interrupted run resumes when the same command is run again.
    """
    from tinyzh.pregen import PregenConfig, run_pregen

    config = PregenConfig(
        corpus=corpus, output=output, tokenizer=tokenizer, tokenizer_plugin=tokenizer_plugin, segmenter=segmenter,
        max_seq_len=max_seq_len, epochs=epochs, seed=seed, workers=workers or None, pair_task=pair_task,
        masking=masking, masked_lm_prob=masked_lm_prob, max_predictions_per_seq=max_predictions_per_seq,
        short_seq_prob=short_seq_prob, chunk_documents=chunk_documents, overwrite=overwrite,
    )
    from tinyzh.commands.reporting import RichReporter

    reporter = RichReporter(Console(stderr=True), show_bars=not quiet)
    started = time.perf_counter()
    try:
        manifest = run_pregen(config, reporter)
    finally:
        reporter.close()
    console = Console(soft_wrap=True)
    print_summary(console, manifest, time.perf_counter() - started)
    if segmenter is None and manifest["tokenizer"].get("segmenter") == "jieba":
        from tinyzh.tokenizers.segment import fallback_reason

        reason = fallback_reason()
        if reason:
            console.print(f"[yellow]note[/]: {reason}", highlight=False)


def print_summary(console: Console, manifest: dict[str, Any], seconds: float) -> None:
    out = Path(manifest["config"]["output"])
    size = sum((out / s["file"]).stat().st_size for s in manifest["shards"])
    n = manifest["num_instances"]
    bad = manifest["bad_input"]
    console.print(
        f"[green]done[/]: {n:,} instances from {manifest['corpus']['documents']:,} documents "
        f"({manifest['epochs']} epoch(s), {manifest['masking']} masking, {manifest['pair_task']}) in {seconds:.1f} s, "
        f"{n / max(seconds, 1e-9):,.0f} instances/s; {size / max(n, 1):.0f} bytes/instance -> {out}"
    )
    bad_lines = bad["invalid_utf8_lines"] + bad["control_char_lines"] + bad["long_lines_split"]
    console.print(
        f"bad input: {bad['invalid_utf8_lines']} invalid UTF-8 line(s) skipped, {bad['control_char_lines']} with "
        f"control characters cleaned, {bad['long_lines_split']} long line(s) split, {bad['empty_documents']} empty "
        f"document(s), {bad['one_sentence_documents']} one-sentence document(s) ({bad_lines} bad line(s))",
        highlight=False,
    )
    for example in bad["examples"][:5]:
        console.print(f"  {example}", highlight=False, markup=False)
