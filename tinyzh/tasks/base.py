"""Shared machinery for JSON-lines classification tasks (the CLUE family and third-party tasks).

A task subclasses :class:`JsonLinesTask` and sets a few class attributes; reading, label
normalisation, error messages and ``with_texts`` come for free. A minimal third-party task::

    class Lcqmc(JsonLinesTask):
        name = "lcqmc"
        labels = ("0", "1")
        text_fields = ("sentence1", "sentence2")
        submission_file = "lcqmc_predict.json"
        dir_names = ("lcqmc",)

Override :meth:`JsonLinesTask.texts_of` (and :meth:`JsonLinesTask.with_texts`) when a text is not
simply a string field of the record (CSL's keyword list, CLUEWSC's marked spans).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tinyzh.errors import InputError
from tinyzh.protocols import TaskExample

SPLITS = ("train", "dev", "test")


def normalize_label(raw: Any) -> str:
    """A label as the string the task's label list uses.

    FewCLUE stores TNEWS / IFLYTEK labels as JSON numbers (``100``), CLUE as strings (``"100"``);
    a JSON ``true`` becomes ``"true"`` (CLUEWSC's labels are the strings "true" / "false").
    """
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, (int, float)):
        return str(raw)
    if isinstance(raw, str):
        return raw.strip()
    raise TypeError(f"a label must be a string or a number, not {type(raw).__name__}")


def utf8_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a UTF-8 file (a BOM tolerated); ``InputError`` at the first bad byte."""
    offset = 0  # bytes before the current line
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            start = 3 if line_no == 1 and raw.startswith(b"\xef\xbb\xbf") else 0
            try:
                yield line_no, raw[start:].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise not_utf8_error(path, line_no, offset + start + exc.start, raw) from None
            offset += len(raw)


def not_utf8_error(path: Path, line_no: int, byte: int, raw: bytes) -> InputError:
    """The one-line message for a file that is not UTF-8, with the fix."""
    try:
        raw.decode("gb18030")
        guess, source = "it looks GBK-encoded; ", "GBK"
    except UnicodeDecodeError:
        guess, source = "", "ITS_ENCODING"
    return InputError(
        f"not UTF-8 (byte {byte} of the file); {guess}convert the file to UTF-8, "
        f"e.g. iconv -f {source} -t UTF-8 {path} > {path.with_suffix('.utf8' + path.suffix).name}",
        path,
        line_no,
    )


def first_bad_utf8(path: Path) -> InputError | None:
    """The ``not_utf8_error`` of ``path``'s first undecodable line, or None (for plugins that open files
    themselves and let a ``UnicodeDecodeError`` escape: the caller turns it into this line)."""
    try:
        for _ in utf8_lines(path):
            pass
    except InputError as exc:
        return exc
    return None


class JsonLinesTask:
    """A classification task read from JSON lines (one object a line, blank lines ignored)."""

    name: str = ""
    labels: tuple[str, ...] = ()
    metric: str = "accuracy"
    submission_file: str = ""
    dir_names: tuple[str, ...] = ()
    max_seq_len: int = 128
    text_fields: tuple[str, ...] = ()  # record fields holding the texts, in order
    label_field: str = "label"
    id_fields: tuple[str, ...] = ("id", "idx")  # first one present is the example id
    # Labels meaning "no gold label" (OCNLI/CMNLI's "-"): such rows are dropped from labelled
    # splits and counted in ``skipped``; in the test split the row is kept, unlabelled.
    skip_labels: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.skipped: Counter[str] = Counter()  # split -> rows dropped on the last read of it

    def __repr__(self) -> str:
        return f"<task {self.name}: {len(self.labels)} labels, {'pair' if self.is_pair else 'single'}>"

    @property
    def is_pair(self) -> bool:
        return len(self.text_fields) == 2

    # ------------------------------------------------------------------ reading
    def read_examples(self, path: str | Path, split: str) -> Iterator[TaskExample]:
        """Stream the examples of ``path``; ``split`` decides whether a label is required.

        train / dev rows must carry a label from ``labels``; test rows may (a labelled
        ``test_public.json``) or may not. Raises ``InputError`` with file and line.
        """
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{self.name} {split} file not found", path)
        self.skipped[split] = 0
        index = 0  # 0-based among non-blank lines: the id of a test row that has none
        for line_no, line in utf8_lines(path):
            if not line.strip():
                continue
            example = self.parse_line(line, split, path=path, line=line_no, index=index)
            index += 1
            if example is not None:
                yield example

    def parse_line(self, text: str, split: str, *, path: str | Path, line: int, index: int) -> TaskExample | None:
        """One JSON line as an example; ``None`` for a row dropped on purpose (see ``skip_labels``)."""
        record = self._parse(text, Path(path), line)
        return self._example(record, split, index, Path(path), line)

    def _parse(self, line: str, path: Path, line_no: int) -> dict[str, Any]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON ({exc.msg} at character {exc.pos + 1})", path, line_no) from None
        if not isinstance(record, dict):
            raise InputError(f"expected a JSON object, found {type(record).__name__}", path, line_no)
        return record

    def _example(
        self, record: dict[str, Any], split: str, index: int, path: Path, line_no: int
    ) -> TaskExample | None:
        texts = self.texts_of(record, path, line_no)
        label = self._label(record, split, path, line_no)
        if label in self.skip_labels:
            if split != "test":
                self.skipped[split] += 1
                return None
            label = None
        return TaskExample(id=self._id(record, index), texts=texts, label=label, line=line_no, record=record)

    def _id(self, record: Mapping[str, Any], index: int) -> int | str:
        for field in self.id_fields:
            if field in record:
                return record[field]
        return index

    def _label(self, record: Mapping[str, Any], split: str, path: Path, line_no: int) -> str | None:
        if self.label_field not in record or record[self.label_field] is None:
            if split == "test":
                return None
            raise InputError(f"missing field {self.label_field!r} ({self.name} {split} rows need a label)", path, line_no)
        try:
            label = normalize_label(record[self.label_field])
        except TypeError as exc:
            raise InputError(str(exc), path, line_no) from None
        if label not in self.labels and label not in self.skip_labels:
            shown = ", ".join(self.labels[:20]) + (" …" if len(self.labels) > 20 else "")
            raise InputError(
                f"label {record[self.label_field]!r} is not a {self.name} label; expected one of {shown}",
                path,
                line_no,
            )
        return label

    def field(self, record: Mapping[str, Any], name: str, path: Path | str, line_no: int) -> Any:
        """``record[name]``, or an ``InputError`` naming the missing field."""
        if name not in record:
            raise InputError(f"missing field {name!r} (a {self.name} row needs {', '.join(self.text_fields)})", path, line_no)
        return record[name]

    def texts_of(self, record: Mapping[str, Any], path: Path | str, line_no: int) -> tuple[str, ...]:
        """The example's texts in ``text_fields`` order; each must be a string."""
        texts = []
        for name in self.text_fields:
            value = self.field(record, name, path, line_no)
            if not isinstance(value, str):
                raise InputError(f"field {name!r} should be a string, found {type(value).__name__}", path, line_no)
            texts.append(value)
        return tuple(texts)

    # ------------------------------------------------------------------ writing
    def with_texts(self, example: TaskExample, texts: Sequence[str]) -> dict[str, Any]:
        """A copy of the example's record with its text fields replaced by ``texts``."""
        self._check_count(texts)
        record = dict(example.record)
        for name, text in zip(self.text_fields, texts, strict=True):
            record[name] = text
        return record

    def _check_count(self, texts: Sequence[str]) -> None:
        if len(texts) != len(self.text_fields):
            raise ValueError(f"{self.name} has {len(self.text_fields)} text(s), got {len(texts)}")
