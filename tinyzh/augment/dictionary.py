"""Synonym dictionaries: the plain group format and HIT Tongyici Cilin (extended).

Plain format (the shipped ``tinyzh/data/synonyms.txt``): one synonym group a line, words separated
by spaces, tabs or commas (ASCII or full-width); every word of a line is a synonym of every other;
blank lines and lines starting with ``#`` are ignored::

    # 高兴 and 快乐 are synonyms
    高兴 快乐 开心 愉快

Cilin-extended format: ``CODE= word word ...`` where ``CODE`` is the 7-character class code and the
8th character says what the line is: ``=`` a synonym group (used), ``#`` words that are merely
related (ignored), ``@`` a word with no synonym (ignored)::

    Aa01A01= 人 士 人物 人士 人氏 人选

A word in several groups gets the union of them. Usage::

    synonyms = load_synonyms("cilin_ex.txt")          # format detected from the first entry
    synonyms.get("人物")                               # ("人", "士", "人士", ...)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from tinyzh.errors import ConfigError, InputError

FORMATS = ("auto", "cilin", "plain")
CILIN_LINE = re.compile(r"^([A-Za-z]{2}\d{2}[A-Za-z]\d{2})([=#@])\s*(.*)$")
PLAIN_SEPARATORS = re.compile(r"[\s,，、;；]+")


class SynonymDict:
    """``word -> synonyms`` built from groups of mutual synonyms (order of first appearance)."""

    def __init__(self, groups: Iterable[Iterable[str]], source: str = "") -> None:
        self.source = source
        self._synonyms: dict[str, dict[str, None]] = {}  # dicts as ordered sets
        self.groups = 0
        for group in groups:
            words = list(dict.fromkeys(w for w in group if w))
            if len(words) < 2:
                continue
            self.groups += 1
            for word in words:
                bucket = self._synonyms.setdefault(word, {})
                bucket.update((other, None) for other in words if other != word)

    def __len__(self) -> int:
        return len(self._synonyms)

    def __contains__(self, word: object) -> bool:
        return word in self._synonyms

    def get(self, word: str) -> tuple[str, ...]:
        """The synonyms of ``word`` in dictionary order (empty when it has none)."""
        return tuple(self._synonyms.get(word, ()))


def default_synonyms_path() -> Path:
    """The small dictionary shipped with tinyzh (plain format)."""
    return Path(str(resources.files("tinyzh") / "data" / "synonyms.txt"))


def load_synonyms(path: str | Path | None = None, fmt: str = "auto") -> SynonymDict:
    """Load a dictionary file (``None``: the shipped default) in ``fmt`` (auto, cilin or plain)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--synonyms-format {fmt!r} is not a dictionary format; expected one of {', '.join(FORMATS)}")
    path = Path(path) if path is not None else default_synonyms_path()
    if not path.is_file():
        raise ConfigError(f"--synonyms {path}: file not found; give a synonym dictionary (see docs/augment.md)")
    if fmt == "auto":
        fmt = detect_format(path)
    groups = read_cilin(path) if fmt == "cilin" else read_plain(path)
    synonyms = SynonymDict(groups, source=f"{path} ({fmt})")
    if not len(synonyms):
        raise InputError(f"no synonym groups found (read as {fmt} format); check --synonyms-format", path)
    return synonyms


def detect_format(path: Path) -> str:
    """``cilin`` when the first entry looks like ``Aa01A01= ...``, else ``plain``."""
    for _, line in _entries(path):
        return "cilin" if CILIN_LINE.match(line) else "plain"
    return "plain"


def read_cilin(path: Path) -> Iterator[list[str]]:
    """The ``=`` groups of a Cilin-extended file; a line that is not ``CODE[=#@] words`` is an error."""
    for line_no, line in _entries(path):
        match = CILIN_LINE.match(line)
        if match is None:
            raise InputError(
                f"not a Cilin line: {line[:40]!r}; expected a code, '=', '#' or '@', then words "
                "(e.g. 'Aa01A01= 人 士 人物'); use --synonyms-format plain for one group a line",
                path,
                line_no,
            )
        if match.group(2) == "=":
            yield match.group(3).split()


def read_plain(path: Path) -> Iterator[list[str]]:
    """One group a line, words split on whitespace or commas."""
    for _, line in _entries(path):
        yield [w for w in PLAIN_SEPARATORS.split(line) if w]


def _entries(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped line) of the non-blank, non-comment lines."""
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for line_no, raw in enumerate(handle, start=1):
                line = raw.strip()
                if line and not line.startswith("#"):
                    yield line_no, line
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason}); convert the dictionary to UTF-8", path) from None
