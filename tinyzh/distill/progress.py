"""What a run records: ``metrics.jsonl`` rows (rank 0 only); the same rows go to the run's reporter.

Each logged step appends one JSON object to ``<output>/metrics.jsonl``::

    {"phase": "general", "step": 50, "epoch": 0.42, "loss": 3.1, "embedding": 0.2, "hidden_1": 0.4, ...,
     "attention_1": 1.2, ..., "lr": 9.8e-05, "samples_per_s": 12.3}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tinyzh.io import output_errors, write_all, write_atomic


def group_terms(terms: dict[str, float]) -> dict[str, float]:
    """Per-layer terms summed by kind for the progress bar: emb / hid / att / rel / mlm / soft / hard."""
    short = {"embedding": "emb", "hidden": "hid", "attention": "att", "relation": "rel", "mlm": "mlm", "soft_ce": "soft",
             "hard_ce": "hard"}
    out: dict[str, float] = {}
    for name, value in terms.items():
        key = short.get(name, short.get(name.rsplit("_", 1)[0], name))
        out[key] = out.get(key, 0.0) + value
    return out


class MetricsLog:
    """Appends rows to metrics.jsonl (only when ``enabled``, i.e. on rank 0)."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path = path
        self.enabled = enabled
        self.last: dict[str, Any] = {}

    def keep_until(self, step: int) -> None:
        """Drop rows past ``step`` (logged after the checkpoint a run resumes from; all on a fresh start)."""
        if not self.enabled or not self.path.exists():
            return
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    rows.append(line)
            except ValueError:
                continue  # blank, or the torn last line of a killed run
        write_atomic(self.path, "".join(line + "\n" for line in rows))

    def write(self, row: dict[str, Any]) -> None:
        self.last = row
        if not self.enabled:
            return
        with output_errors(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as fh:
                write_all(fh, (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"), self.path)
