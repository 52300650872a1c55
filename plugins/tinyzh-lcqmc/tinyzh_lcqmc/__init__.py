"""LCQMC (Liu et al. 2018, "LCQMC: A Large-scale Chinese Question Matching Corpus") as a tinyzh task.

Two questions -> do they ask the same thing? Labels ``"0"`` (different) and ``"1"`` (same intent).
This plugin depends only on the ``Task`` protocol in ``tinyzh.protocols``, not on tinyzh's own task
base classes, to show the smallest contract a third-party task has to meet.

Accepted file formats, detected line by line, so a file may even mix them:

- JSON lines (the CLUE-style layout)::

      {"sentence1": "喜欢打篮球的男生喜欢什么样的女生", "sentence2": "爱打篮球的男生喜欢什么样的女生", "label": "1"}

  ``label`` may be a string or a number; an ``id`` field, when present, is the example id.
- Tab-separated ``text_a<TAB>text_b<TAB>label`` (the widely shared ``train.txt`` / ``dev.txt``);
  a header line ``text_a<TAB>text_b<TAB>label`` is skipped, and test rows may omit the label.

Files live at ``DATA_DIR/lcqmc/{train,dev,test}.json`` (either format inside). Usage::

    pip install plugins/tinyzh-lcqmc
    tinyzh eval STUDENT --tasks lcqmc --data-dir DATA_DIR
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tinyzh.errors import InputError
from tinyzh.protocols import TaskExample

__all__ = ["Lcqmc"]
__version__ = "0.1.0"

TEXT_FIELDS = ("sentence1", "sentence2")
TSV_HEADER = ("text_a", "text_b", "label")


class Lcqmc:
    """The LCQMC task plugin; satisfies ``tinyzh.protocols.Task``."""

    name = "lcqmc"
    labels = ("0", "1")
    metric = "accuracy"
    submission_file = "lcqmc_predict.json"
    dir_names = ("lcqmc", "LCQMC")
    max_seq_len = 64  # questions are short: 99% of LCQMC pairs fit in 64 tokens

    def read_examples(self, path: str | Path, split: str) -> Iterator[TaskExample]:
        """Stream ``path``; train/dev rows need a label, test rows may lack one."""
        if split not in ("train", "dev", "test"):
            raise ValueError(f"split must be train, dev or test, not {split!r}")
        path = Path(path)
        if not path.is_file():
            raise InputError(f"lcqmc {split} file not found", path)
        with path.open(encoding="utf-8-sig") as handle:
            index = 0  # 0-based among data rows: the id of a row that has none
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                example = self.parse_line(line, split, path=path, line=line_no, index=index)
                if example is not None:  # None: the TSV header
                    yield example
                    index += 1

    def parse_line(self, text: str, split: str, *, path: str | Path, line: int, index: int) -> TaskExample | None:
        """One line, JSON or TSV; ``None`` for the TSV header line."""
        text = text.rstrip("\r\n")
        path = Path(path)
        if text.lstrip().startswith("{"):
            record = _parse_json(text, path, line)
        else:
            record = _parse_tsv(text, path, line)
            if record is None:
                return None
        return self._example(record, split, index, path, line)

    def with_texts(self, example: TaskExample, texts: Sequence[str]) -> dict[str, Any]:
        """The example's record (JSON form) with both questions replaced."""
        if len(texts) != 2:
            raise ValueError(f"lcqmc has 2 texts, got {len(texts)}")
        record = dict(example.record)
        record.update(zip(TEXT_FIELDS, texts, strict=True))
        return record

    def _example(
        self, record: dict[str, Any], split: str, index: int, path: Path, line_no: int
    ) -> TaskExample:
        texts = []
        for name in TEXT_FIELDS:
            value = record.get(name)
            if not isinstance(value, str):
                found = "nothing" if value is None else type(value).__name__
                raise InputError(f"field {name!r} should be a string, found {found}", path, line_no)
            texts.append(value)
        label = _label(record.get("label"))
        if label is None and split != "test":
            raise InputError(f'missing label (lcqmc {split} rows need "0" or "1")', path, line_no)
        if label is not None and label not in self.labels:
            raise InputError(
                f'label {record["label"]!r} is not an lcqmc label; expected "0" or "1"', path, line_no
            )
        example_id = record.get("id", index)
        return TaskExample(id=example_id, texts=tuple(texts), label=label, line=line_no, record=record)


def _label(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw).strip()


def _parse_json(line: str, path: Path, line_no: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON ({exc.msg} at column {exc.colno})", path, line_no) from None
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, found {type(record).__name__}", path, line_no)
    return record


def _parse_tsv(line: str, path: Path, line_no: int) -> dict[str, Any] | None:
    """``text_a<TAB>text_b[<TAB>label]`` -> a record shaped like the JSON form; None for the header."""
    cells = line.split("\t")
    if tuple(c.strip() for c in cells) in (TSV_HEADER, TSV_HEADER[:2]):
        return None
    if len(cells) not in (2, 3):
        raise InputError(
            f"expected a JSON object or 2-3 tab-separated columns (text_a, text_b, label), found {len(cells)} column(s)",
            path,
            line_no,
        )
    record: dict[str, Any] = {"sentence1": cells[0], "sentence2": cells[1]}
    if len(cells) == 3:
        record["label"] = cells[2].strip()
    return record
