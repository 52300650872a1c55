"""The texts a pruned vocabulary must cover: corpus files (read as ``tinyzh pregen`` reads them) and
task files (read by the task plugin, every text field of every row).

Usage::

    texts = read_texts([Path("corpus.txt")], task="tnews", data=[Path("train.json"), Path("dev.json")])
"""

from __future__ import annotations

from pathlib import Path

from tinyzh.errors import ConfigError, InputError
from tinyzh.pregen.corpus import CorpusReader

# Corpus lines are kept whole (pregen cuts over-long lines to its sequence length; a cut may fall
# inside a WordPiece word, so whole lines are what every later cut comes from).
MAX_LINE_CHARS = 1 << 20
MAX_DOCUMENT_CHARS = 1 << 30


def read_corpus(paths: list[Path]) -> list[str]:
    """Every non-empty line of the corpus files, control characters removed as pregen removes them."""
    reader = CorpusReader(list(paths), max_line_chars=MAX_LINE_CHARS, max_document_chars=MAX_DOCUMENT_CHARS)
    lines = [line for document in reader.documents() for line in document]
    if reader.stats.invalid_utf8_lines:  # pregen skips such lines; here their tokens would be missed
        notes = [e for e in reader.stats.examples if "invalid UTF-8" in e]  # may be crowded out by other notes
        first = notes[0].removesuffix(", line skipped") if notes else "a corpus line is not UTF-8"
        raise InputError(f"{first} ({reader.stats.invalid_utf8_lines} such line(s) in all); fix or remove them "
                         "so the pruned vocabulary does not miss their tokens")
    return lines


def read_task_texts(task_name: str, paths: list[Path]) -> list[str]:
    """Every text field of every row of the task files, in file order."""
    from tinyzh.plugins import get_task

    task = get_task(task_name)
    texts: list[str] = []
    for path in paths:
        # The "test" split accepts rows with and without labels, so any file of the task reads.
        for example in task.read_examples(path, "test"):
            texts.extend(example.texts)
    return texts


def read_texts(corpus: list[Path], task: str | None = None, data: list[Path] | None = None) -> list[str]:
    """Corpus lines then task texts; ``ConfigError`` when nothing is given or ``--task``/``--data`` lack each other."""
    data = list(data or [])
    if data and not task:
        raise ConfigError("--data needs --task (the task plugin that reads the files, e.g. --task tnews)")
    if task and not data:
        raise ConfigError(f"--task {task} needs --data FILE... (its train/dev/test files)")
    if not corpus and not data:
        raise ConfigError("no texts: give --corpus FILE... and/or --task T --data FILE...")
    texts = read_corpus(corpus) if corpus else []
    if task:
        texts += read_task_texts(task, data)
    if not texts:
        raise InputError("the given files hold no text", path=", ".join(map(str, [*corpus, *data])))
    return texts
