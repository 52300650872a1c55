"""The seven CLUE classification tasks as task plugins (entry points in ``tinyzh.tasks``).

Formats (JSON lines; CLUE: Xu et al. 2020, https://github.com/CLUEbenchmark/CLUE):

========== ============================================= ===================================
task       texts                                         labels
========== ============================================= ===================================
afqmc      sentence1, sentence2                          "0", "1"
tnews      sentence (label_desc, keywords ignored)       "100".."116" without 105, 111 (15)
iflytek    sentence (label_des ignored)                  "0".."118" (119)
ocnli      sentence1, sentence2                          contradiction/entailment/neutral
cmnli      sentence1, sentence2                          contradiction/entailment/neutral
cluewsc2020 text with target spans marked (see below)    "true", "false"
csl        keyword list joined by "；", abst             "0", "1"
========== ============================================= ===================================

Usage::

    task = tinyzh.plugins.get_task("tnews")
    for ex in task.read_examples("clue/tnews/dev.json", "dev"):
        ex.texts, ex.label            # ("为什么康乾盛世又称红薯盛世？…",), "115"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tinyzh.errors import InputError
from tinyzh.protocols import TaskExample
from tinyzh.tasks.base import JsonLinesTask

NLI_LABELS = ("contradiction", "entailment", "neutral")


class Afqmc(JsonLinesTask):
    """Ant Financial question matching: are two questions the same? (binary)."""

    name = "afqmc"
    labels = ("0", "1")
    text_fields = ("sentence1", "sentence2")
    submission_file = "afqmc_predict.json"
    dir_names = ("afqmc", "afqmc_public")


class Tnews(JsonLinesTask):
    """Toutiao news headline topic (15 classes; codes 105 and 111 are unused)."""

    name = "tnews"
    labels = tuple(str(code) for code in range(100, 117) if code not in (105, 111))
    text_fields = ("sentence",)
    submission_file = "tnews11_predict.json"
    dir_names = ("tnews", "tnews_public")


class Iflytek(JsonLinesTask):
    """App description -> one of 119 app categories."""

    name = "iflytek"
    labels = tuple(str(code) for code in range(119))
    text_fields = ("sentence",)
    submission_file = "iflytek_predict.json"
    dir_names = ("iflytek", "iflytek_public")


class Ocnli(JsonLinesTask):
    """Original Chinese NLI. Rows labelled "-" (annotators disagreed) are dropped and counted."""

    name = "ocnli"
    labels = NLI_LABELS
    text_fields = ("sentence1", "sentence2")
    skip_labels = ("-",)
    submission_file = "ocnli_50k_predict.json"
    dir_names = ("ocnli", "ocnli_public")


class Cmnli(Ocnli):
    """Chinese MultiNLI (machine-translated); same format as OCNLI."""

    name = "cmnli"
    submission_file = "cmnli_predict.json"
    dir_names = ("cmnli", "cmnli_public")


class Csl(JsonLinesTask):
    """Paper abstract + keyword list: are all keywords real? The keywords are joined by "；"."""

    name = "csl"
    labels = ("0", "1")
    text_fields = ("keyword", "abst")
    max_seq_len = 256
    submission_file = "csl_predict.json"
    dir_names = ("csl", "csl_public")
    separator = "；"

    def texts_of(self, record: Mapping[str, Any], path: Path | str, line_no: int) -> tuple[str, ...]:
        keywords = self.field(record, "keyword", path, line_no)
        abst = self.field(record, "abst", path, line_no)
        if isinstance(keywords, str):
            keywords = [keywords]
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise InputError("field 'keyword' should be a list of strings", path, line_no)
        if not isinstance(abst, str):
            raise InputError(f"field 'abst' should be a string, found {type(abst).__name__}", path, line_no)
        return self.separator.join(keywords), abst

    def with_texts(self, example: TaskExample, texts: Sequence[str]) -> dict[str, Any]:
        self._check_count(texts)
        record = dict(example.record)
        record["keyword"] = [k for k in texts[0].split(self.separator) if k]
        record["abst"] = texts[1]
        return record


class Cluewsc2020(JsonLinesTask):
    """Winograd-style coreference: does the pronoun (span2) refer to span1?

    The single text is ``text`` with span1 wrapped in ``_…_`` and span2 in ``[…]``, markers inserted
    at the spans' character indices (later span first, so the earlier index stays valid)::

        刀光一闪，那_舌头_象一只受惊的老鼠…，看那样子，[它]是想往天上去的…
    """

    name = "cluewsc2020"
    labels = ("true", "false")
    text_fields = ("text",)
    submission_file = "cluewsc11_predict.json"
    dir_names = ("cluewsc2020", "cluewsc2020_public", "cluewsc")
    marks = {"span1": ("_", "_"), "span2": ("[", "]")}

    def texts_of(self, record: Mapping[str, Any], path: Path | str, line_no: int) -> tuple[str, ...]:
        text = self.field(record, "text", path, line_no)
        target = self.field(record, "target", path, line_no)
        if not isinstance(text, str) or not isinstance(target, dict):
            raise InputError("expected 'text' to be a string and 'target' an object", path, line_no)
        spans = [(self._span_start(text, target, span, path, line_no), span) for span in self.marks]
        for start, span in sorted(spans, reverse=True):  # later index first keeps earlier indices valid
            left, right = self.marks[span]
            end = start + len(target[f"{span}_text"])
            text = text[:start] + left + text[start:end] + right + text[end:]
        return (text,)

    def _span_start(self, text: str, target: Mapping[str, Any], span: str, path: Path | str, line_no: int) -> int:
        """The span's character index; an index that misses its text is moved to the nearest match."""
        span_text, index = target.get(f"{span}_text"), target.get(f"{span}_index")
        if not isinstance(span_text, str) or not span_text or not isinstance(index, int):
            raise InputError(f"target needs {span}_text (string) and {span}_index (integer)", path, line_no)
        if text[index : index + len(span_text)] == span_text:
            return index
        starts = [i for i in range(len(text)) if text.startswith(span_text, i)]
        if not starts:
            raise InputError(f"target {span}_text {span_text!r} does not occur in 'text'", path, line_no)
        return min(starts, key=lambda i: abs(i - index))

    def with_texts(self, example: TaskExample, texts: Sequence[str]) -> dict[str, Any]:
        """Strip the markers from the (augmented) marked text and recompute the span indices.

        Raises ``ValueError`` when the text no longer holds exactly one ``_…_`` and one ``[…]``.
        """
        self._check_count(texts)
        text, target = unmark(texts[0], self.marks)
        record = dict(example.record)
        record["text"] = text
        record["target"] = {**dict(record.get("target", {})), **target}
        return record


def unmark(marked: str, marks: Mapping[str, tuple[str, str]]) -> tuple[str, dict[str, Any]]:
    """Inverse of the CLUEWSC marking: the plain text and ``{span1_text, span1_index, …}``."""
    found: dict[str, tuple[int, int]] = {}  # span -> (start, end) in the marked text, inside markers
    for span, (left, right) in marks.items():
        start = marked.find(left)
        end = marked.find(right, start + 1) if start >= 0 else -1
        counts_ok = marked.count(left) == 2 if left == right else marked.count(left) == marked.count(right) == 1
        if start < 0 or end < 0 or not counts_ok:
            raise ValueError(f"marked text must hold exactly one {left}…{right} span: {marked[:60]!r}")
        found[span] = (start + 1, end)
    marker_positions = sorted(p for s, e in found.values() for p in (s - 1, e))
    drop = set(marker_positions)
    plain = "".join(c for i, c in enumerate(marked) if i not in drop)
    target: dict[str, Any] = {}
    for span, (start, end) in found.items():
        shift = sum(1 for p in marker_positions if p < start)  # markers removed before the span
        target[f"{span}_text"] = marked[start:end]
        target[f"{span}_index"] = start - shift
    return plain, target
