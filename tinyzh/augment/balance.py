"""``augment --balance``: give every label the same growth, so augmenting keeps the input's class balance.

Augmentation yields more copies for some labels than others (long texts have more replaceable
words): EPRSTMT's 76/84 examples became 779/1,308 records with synonyms. Balancing keeps every
original and, per label, a seeded random sample of its copies so that each label grows by the factor
of the label that grew least (779/76 = 10.25 there, so the second label keeps 861 records, and
the output is 76:84 again).

It runs once, after the last chunk: the output is read in step with the input (each original is
the input record, written before its copies) and rewritten through a temp file, so a stop leaves
either the unbalanced or the balanced file. Usage::

    counts = balance_output(config, task, labels_in, labels_out)   # the output rewritten; new per-label counts
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from tinyzh.augment.config import AugmentConfig
from tinyzh.augment.records import parse_lines
from tinyzh.io import atomic_writer, write_all


def copies_to_keep(labels_in: dict[str, int], labels_out: dict[str, int]) -> dict[str, int]:
    """label -> copies to keep so that every label grows by the smallest factor out/in."""
    grown = {label: labels_out[label] / n for label, n in labels_in.items() if n > 0}
    if not grown:
        return {}
    factor = min(grown.values())
    return {label: max(0, round(labels_in[label] * factor) - labels_in[label]) for label in grown}


def _originals(config: AugmentConfig, task: Any) -> Iterator[tuple[str, str]]:
    """(JSON line, label) of each input example, as the worker wrote it, in input order."""
    from tinyzh.augment.runner import _dumps, iter_chunks

    for _, lines, _ in iter_chunks(config.input, 0, config.chunk_size):
        examples, _ = parse_lines(task, lines, config.split, config.input)
        for example in examples:
            yield _dumps(example.record), str(example.label)


def balance_output(config: AugmentConfig, task: Any, labels_in: dict[str, int], labels_out: dict[str, int]) -> dict[str, int]:
    """Rewrite ``config.output`` balanced (see the module docstring); returns the new labels_out."""
    keep_counts = copies_to_keep(labels_in, labels_out)
    keep: dict[str, set[int]] = {}
    for label, wanted in keep_counts.items():
        available = labels_out[label] - labels_in[label]
        keep[label] = set(random.Random(f"{config.seed}:balance:{label}").sample(range(available), wanted))
    seen = dict.fromkeys(keep, 0)  # label -> copies met so far
    counts = dict.fromkeys(keep, 0)
    originals = _originals(config, task)
    upcoming = next(originals, None)
    label = None
    with config.output.open(encoding="utf-8") as source, atomic_writer(config.output) as out:
        for line in source:
            if upcoming is not None and line.rstrip("\n") == upcoming[0]:  # the next original: kept
                label, upcoming = upcoming[1], next(originals, None)
                kept = True
            elif label is None:  # cannot happen: the output starts with an original
                continue
            else:  # the seen[label]-th copy of this label
                kept = seen[label] in keep[label]
                seen[label] += 1
            if kept:
                write_all(out, line.encode("utf-8"), config.output)
                counts[label] += 1
    return counts


def label_table(labels_in: dict[str, int], labels_out: dict[str, int]) -> list[tuple[str, str]]:
    """Rows ``(label, "in -> out (x factor)")`` for the summary, most frequent input label first."""
    rows = []
    for label in sorted(labels_in, key=lambda k: (-labels_in[k], k)):
        n_in, n_out = labels_in[label], labels_out.get(label, 0)
        rows.append((label, f"{n_in:,} -> {n_out:,} ({n_out / n_in:.1f}x)" if n_in else f"0 -> {n_out:,}"))
    return rows


def shares(counts: dict[str, int]) -> str:
    """``"0 47.5 %, 1 52.5 %"``: each label's share of ``counts``."""
    total = sum(counts.values()) or 1
    return ", ".join(f"{k} {v / total:.1%}" for k, v in sorted(counts.items()))

