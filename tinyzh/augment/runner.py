"""``tinyzh augment``'s engine: stream a task file, augment it chunk by chunk, resume after a stop.

Data flow::

    input lines --(chunks of chunk_size lines)--> worker: task parses -> jieba tags -> augmenters
    propose -> per-example RNG draws copies -> JSON lines --(in input order)--> output + sidecar

* Deterministic: each example draws from ``Random(f"{seed}:{line}")`` and chunks are cut at fixed
  line numbers, so the output does not depend on ``--workers`` (or on where a run was resumed).
* Streaming: at most ``2 * workers`` chunks are in flight; nothing else of the dataset is held.
* Resumable: after each chunk the output is flushed and ``<output>.progress.json`` records the
  lines done and the byte sizes of the output and the report; a rerun truncates both to those sizes
  and goes on, so the final files equal an uninterrupted run's. The sidecar also keeps the config.
* Bad lines go to ``<output>.bad.txt`` as ``file:line: message`` and are counted in the summary.

Usage::

    summary = run_augment(AugmentConfig(task="tnews", input=..., output=...), reporter)
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinyzh import plugins
from tinyzh.augment.compose import build_augmenters, draw_copies, merged_candidates
from tinyzh.augment.config import AugmentConfig
from tinyzh.augment.records import BadLine, Line, parse_lines
from tinyzh.augment.words import tag
from tinyzh.errors import ConfigError, InputError
from tinyzh.io import output_errors, remove_temp_files, write_all, write_atomic
from tinyzh.lock import output_lock
from tinyzh.report import Reporter

PROGRESS = "augment (input lines)"


@dataclass
class Stats:
    """Counters of a run; ``add`` merges a chunk's into the total."""

    lines: int = 0  # input lines read (blank ones included)
    examples_in: int = 0  # examples parsed and augmented
    records_out: int = 0  # JSON lines written (originals + copies)
    copies: int = 0  # augmented copies written
    replacements: int = 0  # words replaced, summed over copies
    short: int = 0  # examples with fewer than num_aug distinct copies
    no_copy: int = 0  # examples that got no copy at all (only the original is written)
    rejected: int = 0  # copies the task refused to write back (e.g. CLUEWSC spans lost)
    bad_lines: int = 0  # bad lines reported in the .bad.txt file
    skipped: int = 0  # rows the task dropped on purpose (also listed in the .bad.txt file)
    labels_in: dict[str, int] = field(default_factory=dict)  # label -> examples read
    labels_out: dict[str, int] = field(default_factory=dict)  # label -> records written (originals + copies)
    balanced_out: int = 0  # copies --balance removed

    def add(self, other: Stats) -> None:
        for name, value in asdict(other).items():
            if isinstance(value, dict):
                mine = getattr(self, name)
                for key, count in value.items():
                    mine[key] = mine.get(key, 0) + count
            else:
                setattr(self, name, getattr(self, name) + value)

    def per_example(self) -> dict[str, float]:
        n = max(self.examples_in, 1)
        return {
            "copies_per_example": self.copies / n,
            "replacements_per_copy": self.replacements / max(self.copies, 1),
            "short_share": self.short / n,
        }


@dataclass
class ChunkResult:
    first_line: int
    lines: int
    output: str  # JSON lines, in input order
    bad: list[BadLine]
    stats: Stats


@dataclass
class AugmentSummary:
    config: AugmentConfig
    stats: Stats
    report: Path | None  # the bad-line report, when there is one
    resumed_at: int  # input lines already done when this run started (0: fresh)
    total_lines: int
    already_complete: bool = False  # the output was finished by an earlier run; nothing was done
    bad_preview: list[str] = field(default_factory=list)  # the first reported lines


# --------------------------------------------------------------------------- one chunk
class ChunkWorker:
    """Everything a process needs to augment chunks: the task and the augmenters."""

    def __init__(self, config: AugmentConfig) -> None:
        self.config = config
        self.task = plugins.get_task(config.task)
        self.augmenters = build_augmenters(config.augmenters, config.augmenter_options())

    def process(self, first_line: int, lines: list[Line], undecodable: list[BadLine]) -> ChunkResult:
        cfg = self.config
        examples, bad = parse_lines(self.task, lines, cfg.split, cfg.input)
        bad = sorted([*bad, *undecodable], key=lambda b: b.line)
        tagged = [[tag(text) for text in ex.texts] for ex in examples]
        flat = merged_candidates(self.augmenters, [t for fields in tagged for t in fields])
        skipped = sum(b.skipped for b in bad)
        stats = Stats(lines=len(lines) + len(undecodable), examples_in=len(examples), bad_lines=len(bad) - skipped,
                      skipped=skipped)
        out: list[str] = []
        at = 0
        for ex, fields in zip(examples, tagged, strict=True):
            choices, at = flat[at : at + len(fields)], at + len(fields)
            rng = random.Random(f"{cfg.seed}:{ex.line}")
            copies = draw_copies([[w for w, _ in f] for f in fields], choices, rng, cfg.num_aug, cfg.p, cfg.draws)
            out.append(_dumps(ex.record))
            written = 0
            for texts, replaced in zip(copies.texts, copies.replaced, strict=True):
                try:
                    record = self.task.with_texts(ex, texts)
                except ValueError:
                    stats.rejected += 1
                    continue
                out.append(_dumps(record))
                written += 1
                stats.replacements += replaced
            stats.copies += written
            stats.short += written < cfg.num_aug
            stats.no_copy += written == 0
            label = str(ex.label)  # None (an unlabelled file) counts as "None"
            stats.labels_in[label] = stats.labels_in.get(label, 0) + 1
            stats.labels_out[label] = stats.labels_out.get(label, 0) + 1 + written
        stats.records_out = len(out)
        return ChunkResult(first_line, stats.lines, "".join(line + "\n" for line in out), bad, stats)


def _dumps(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False)


_worker: ChunkWorker | None = None  # one per pool process, built on its first chunk


def _pool_process(config_dict: dict[str, Any], chunk: tuple[int, list[Line], list[BadLine]]) -> ChunkResult:
    global _worker
    if _worker is None:
        config = AugmentConfig.from_dict(config_dict)
        _worker = ChunkWorker(config)
        _limit_threads(config.workers)
    return _worker.process(*chunk)


def _limit_threads(workers: int) -> None:
    """Share the CPU cores between worker processes when one of them runs torch."""
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, (os.cpu_count() or 1) // workers))


# --------------------------------------------------------------------------- input
def count_lines(path: Path) -> int:
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def iter_chunks(path: Path, start: int, size: int) -> Iterator[tuple[int, list[Line], list[BadLine]]]:
    """(first line, decoded lines, undecodable lines) for chunks of ``size`` lines after line ``start``."""
    with path.open("rb") as handle:
        lines: list[Line] = []
        undecodable: list[BadLine] = []
        first = start + 1
        for number, raw in enumerate(handle, start=1):
            if number <= start:
                continue
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                lines.append((number, raw.decode("utf-8")))
            except UnicodeDecodeError as exc:
                undecodable.append(BadLine(number, f"not UTF-8 ({exc.reason} at byte {exc.start})"))
            if number == first + size - 1:
                yield first, lines, undecodable
                lines, undecodable, first = [], [], number + 1
        if lines or undecodable:
            yield first, lines, undecodable


# --------------------------------------------------------------------------- resume
class Sidecar:
    """``<output>.progress.json``: the config, lines done, file sizes, counters, completion."""

    def __init__(self, config: AugmentConfig) -> None:
        self.config = config
        self.path = config.output.with_name(config.output.name + ".progress.json")
        self.report = config.output.with_name(config.output.name + ".bad.txt")
        self.fingerprint = config.fingerprint()
        self.lines_done = 0
        self.output_bytes = 0
        self.report_bytes = 0
        self.stats = Stats()
        self.complete = False

    def load_or_start(self) -> None:
        """Pick up a previous run of the same config, or start fresh (``overwrite``)."""
        out = self.config.output
        if self.config.overwrite or not (out.exists() or self.path.exists()):
            self._reset_files()
            return
        if not self.path.exists():
            raise ConfigError(f"--output {out} exists and was not written by an unfinished run; pass --overwrite to replace it")
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if data.get("fingerprint") != self.fingerprint:
            raise ConfigError(
                f"{out} was started with other options or another input (see {self.path}); "
                "rerun with the same options to resume, or pass --overwrite to start again"
            )
        self.lines_done, self.complete = data["lines_done"], data["complete"]
        self.output_bytes, self.report_bytes = data["output_bytes"], data["report_bytes"]
        self.stats = Stats(**data["stats"])
        if (out.stat().st_size if out.exists() else 0) < self.output_bytes:
            raise ConfigError(f"{out} is shorter than {self.path} records; pass --overwrite to start again")
        _truncate(out, self.output_bytes)
        _truncate(self.report, self.report_bytes)

    def _reset_files(self) -> None:
        self.config.output.parent.mkdir(parents=True, exist_ok=True)
        with output_errors(self.config.output):
            self.config.output.write_bytes(b"")
        self.report.unlink(missing_ok=True)
        self.save()

    def save(self) -> None:
        data = {
            "fingerprint": self.fingerprint,
            "lines_done": self.lines_done,
            "output_bytes": self.output_bytes,
            "report_bytes": self.report_bytes,
            "complete": self.complete,
            "stats": asdict(self.stats),
            "config": self.config.to_dict(),
        }
        write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=1))  # a stop never leaves half a sidecar


def _truncate(path: Path, size: int) -> None:
    """Cut ``path`` back to ``size`` bytes (what the last recorded chunk left)."""
    if not path.exists():
        return  # opened for appending later; a missing report simply starts empty
    with path.open("r+b") as handle:
        handle.truncate(size)


# --------------------------------------------------------------------------- the run
def run_augment(config: AugmentConfig, reporter: Reporter | None = None) -> AugmentSummary:
    """Augment ``config.input`` into ``config.output``; see the module docstring. Progress (input lines
    done) goes to ``reporter``."""
    if not config.input.is_file():
        raise InputError("input file not found", config.input)
    plugins.get_task(config.task)  # an unknown task fails here, before any file is touched
    for name in config.augmenters:  # a broken augmenter class fails here too, before any file is touched
        plugins.registry("augmenters").checked_factory(name)
    with output_lock(config.output, "augment", kind="file"):
        remove_temp_files(config.output.parent, config.output.name)  # of the sidecar, after a kill
        sidecar = Sidecar(config)
        sidecar.load_or_start()
        total = count_lines(config.input)
        resumed_at, already_complete = sidecar.lines_done, sidecar.complete
        if not sidecar.complete:
            _run_chunks(config, sidecar, total, reporter or Reporter())
            _check_not_empty(config, sidecar)
            if config.balance:
                _balance(config, sidecar)
            sidecar.complete = True
            sidecar.save()
    return AugmentSummary(
        config, sidecar.stats, sidecar.report if sidecar.report.exists() else None, resumed_at, total,
        already_complete, _preview(sidecar.report),
    )


def _check_not_empty(config: AugmentConfig, sidecar: Sidecar) -> None:
    """Zero examples is an error, not an empty output with exit code 0."""
    stats = sidecar.stats
    if stats.examples_in:
        return
    # An output of nothing is worth nothing: remove it so a rerun on the fixed file starts afresh.
    config.output.unlink(missing_ok=True)
    sidecar.path.unlink(missing_ok=True)
    if not stats.bad_lines + stats.skipped:
        raise InputError("holds no examples (the file is empty or blank); give the task's training file", config.input)
    first = _preview(sidecar.report, 1)
    raise InputError(
        f"none of its {stats.lines:,} lines is a usable {config.task} example ({stats.bad_lines:,} bad, "
        f"{stats.skipped:,} skipped; all listed in {sidecar.report}); the first: {first[0] if first else '?'}",
        config.input,
    )


def _balance(config: AugmentConfig, sidecar: Sidecar) -> None:
    from tinyzh.augment.balance import balance_output

    stats = sidecar.stats
    before = sum(stats.labels_out.values())
    stats.labels_out = balance_output(config, plugins.get_task(config.task), stats.labels_in, stats.labels_out)
    stats.balanced_out = before - sum(stats.labels_out.values())
    stats.copies -= stats.balanced_out
    stats.records_out -= stats.balanced_out
    sidecar.output_bytes = config.output.stat().st_size


def _run_chunks(config: AugmentConfig, sidecar: Sidecar, total: int, reporter: Reporter) -> None:
    chunks = iter_chunks(config.input, sidecar.lines_done, config.chunk_size)
    with config.output.open("ab") as out, sidecar.report.open("ab") as report:
        for result in _results(config, chunks):
            write_all(out, result.output.encode("utf-8"), config.output)
            bad = "".join(f"{config.input}:{b.line}: {b.message}\n" for b in result.bad)
            write_all(report, bad.encode("utf-8"), sidecar.report)
            out.flush()
            report.flush()
            sidecar.lines_done = result.first_line - 1 + result.lines
            sidecar.output_bytes, sidecar.report_bytes = out.tell(), report.tell()
            sidecar.stats.add(result.stats)
            sidecar.save()
            reporter.progress(PROGRESS, sidecar.lines_done, total)
    if sidecar.report_bytes == 0:
        sidecar.report.unlink(missing_ok=True)


def _results(config: AugmentConfig, chunks: Iterator[Any]) -> Iterator[ChunkResult]:
    """Chunk results in input order, from this process or a pool of ``workers`` processes."""
    if config.workers == 1:
        worker = ChunkWorker(config)
        for chunk in chunks:
            yield worker.process(*chunk)
        return
    # spawn, not fork: a parent that already ran torch (OpenMP threads) must not be forked.
    context = multiprocessing.get_context("spawn")
    with context.Pool(config.workers) as pool:
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_pool_process, (config.to_dict(), chunk)))
            if len(pending) >= 2 * config.workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _preview(report: Path, limit: int = 5) -> list[str]:
    if not report.exists():
        return []
    with report.open(encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in itertools.islice(handle, limit)]
