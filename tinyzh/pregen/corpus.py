"""Stream a corpus as chunks of documents, counting (never crashing on) bad input.

Format (BERT/TinyBERT convention): UTF-8 text, one sentence a line, a blank line between documents,
the end of a file ends a document; ``.gz`` files are read through gzip. Lines may end in ``\\n``,
``\\r\\n`` or a lone ``\\r``. Memory is bounded by one chunk: lines are read one at a time and a chunk
is handed on as soon as it is full.

Bad input is repaired or skipped and counted in :class:`InputStats`:

- a line that is not valid UTF-8 is skipped and reported as ``file:line``; a file where most lines
  are not (GBK, say) is an error naming the first bad byte and how to convert it;
- a truncated ``.gz`` file is an error naming the file, never a silent end of the corpus;
- control and format characters (``\\x00``, ``\\u200b`` …) are removed;
- a line longer than ``max_line_chars`` is split into pieces (at punctuation or a space when one is
  near the end of the window), never dropped;
- a document with no text left is counted as empty; a document with one line as one-sentence.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from tinyzh.errors import InputError

# Cc (except tab/newline, handled as whitespace) and the Cf characters that show up in scraped text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufffd]")
# Good places to cut an over-long line: just after these characters.
_BREAK_AFTER = set("。！？；，、：…!?;,: \t")
MAX_EXAMPLES = 20  # file:line examples of bad input kept for the report
BLOCK_BYTES = 1 << 20
MAX_PENDING_BYTES = 16 << 20  # a "line" longer than this is cut (then split like any long line)


@dataclass
class InputStats:
    """Counts of what was read and what was wrong with it."""

    files: int = 0
    lines: int = 0
    documents: int = 0
    characters: int = 0
    invalid_utf8_lines: int = 0
    control_char_lines: int = 0
    long_lines_split: int = 0
    empty_documents: int = 0
    one_sentence_documents: int = 0
    long_documents_split: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, kind: str, path: Path, line: int) -> None:
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{path}:{line}: {kind}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def bad_lines(self) -> int:
        return self.invalid_utf8_lines + self.control_char_lines + self.long_lines_split


@dataclass
class Chunk:
    """``documents`` (each a list of non-empty lines), numbered in corpus order."""

    index: int
    documents: list[list[str]]

    def digest(self) -> str:
        """sha256 of the chunk's text, so a resumed run notices an edited corpus."""
        text = "\n\n".join("\n".join(doc) for doc in self.documents)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_binary(path: Path) -> BinaryIO:
    if not path.is_file():
        raise InputError("corpus file not found (expected a UTF-8 text file, optionally .gz)", path=path)
    raw = open(path, "rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def _universal_newlines(block: bytes) -> bytes:
    """``\\r\\n`` and lone ``\\r`` as ``\\n`` (the caller holds back a ``\\r`` that ends a block)."""
    return block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


class EncodingCheck:
    """Counts a file's lines that are (not) UTF-8 and stops when most are not: a GBK file must not
    turn into "0 documents" with no word about its encoding."""

    def __init__(self, path: Path) -> None:
        self.path, self.good, self.bad = path, 0, 0
        self.first: tuple[int, bytes, int] | None = None  # line, its bytes, offset of the bad byte

    def bad_line(self, number: int, data: bytes, offset: int) -> None:
        self.bad += 1
        if self.first is None:
            self.first = (number, data, offset)

    def verdict(self) -> None:
        if self.first is None or self.bad <= self.good:
            return
        number, data, offset = self.first
        guess = ""
        try:
            data.decode("gb18030")
            guess = " (it reads as GBK/GB18030)"
        except UnicodeDecodeError:
            pass
        raise InputError(
            f"not UTF-8: byte 0x{data[offset]:02x} at position {offset} of the line is invalid, and {self.bad:,} of "
            f"{self.bad + self.good:,} lines read so far are not UTF-8; the file is in another encoding{guess}. "
            f"Convert it to UTF-8, e.g. iconv -f GB18030 -t UTF-8 {self.path} > utf8.txt",
            path=self.path, line=number,
        )


def _control_lines(text: str, most: int = 64) -> list[int] | None:
    """Indices of the lines of ``text`` with control characters; None when there are over ``most``."""
    found: list[int] = []
    for n, match in enumerate(_CONTROL.finditer(text)):
        if n >= most:
            return None
        found.append(text.count("\n", 0, match.start()))
    return sorted(set(found))


def split_long_line(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, preferring punctuation/space cuts."""
    pieces = []
    while len(text) > limit:
        cut = limit
        for pos in range(limit, limit // 2, -1):  # look back at most half a window for a nice cut
            if text[pos - 1] in _BREAK_AFTER:
                cut = pos
                break
        piece, text = text[:cut].strip(), text[cut:]
        if piece:
            pieces.append(piece)
    text = text.strip()
    if text:
        pieces.append(text)
    return pieces


@dataclass
class _Pending:
    """The document being read: its lines so far, how many raw lines (before cleaning, to tell an
    empty document from none) and characters."""

    lines: list[str] = field(default_factory=list)
    raw_lines: int = 0
    chars: int = 0
    clean: bool = True  # no line needed repair, so ``chars`` is the characters of ``lines``

    def reset(self) -> None:
        self.lines, self.raw_lines, self.chars, self.clean = [], 0, 0, True


class CorpusReader:
    """Iterate documents of several files; ``stats`` fills in as it goes."""

    def __init__(self, paths: list[Path], max_line_chars: int, max_document_chars: int) -> None:
        self.paths = paths
        self.max_line_chars = max_line_chars
        self.max_document_chars = max_document_chars
        self.stats = InputStats()
        self.bytes_read = 0  # of the files on disk (compressed for .gz), for the progress bar
        self._check_control = True
        self._control_lines: list[int] | None = None  # lines of the block with control characters; None: unknown

    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.paths if p.is_file())

    def documents(self) -> Iterator[list[str]]:
        for lines, _chars in self.sized_documents():
            yield lines

    def sized_documents(self) -> Iterator[tuple[list[str], int]]:
        """(document, its characters) in corpus order. ``stats`` may run ahead of what was yielded:
        the whole documents of a block are counted before they are handed on."""
        for path in self.paths:
            yield from self._file_documents(path)

    def _file_documents(self, path: Path) -> Iterator[tuple[list[str], int]]:
        self.stats.files += 1
        doc = _Pending()
        for first, texts in self._blocks(path):
            if self._control_lines is None or None in texts:  # bad bytes, or control characters galore
                yield from self._lines_into(doc, texts, first, path)
            else:
                yield from self._clean_block(doc, texts, first, path, self._control_lines)
        yield from self._finished(doc)

    def _clean_block(self, doc: _Pending, texts: list[str], first: int, path: Path,
                     control: list[int]) -> Iterator[tuple[list[str], int]]:
        """A block without bad bytes, by stretches between blank lines rather than line by line.

        A stretch between two blank lines that needs no repair is a whole document: those are found
        and counted in numpy and handed on as slices. The first stretch (it continues the document
        of the block before), the last (the next block continues it) and stretches to repair (long
        lines, ``control`` lines, over-long documents) go through ``_stretch``."""
        stripped = [text.strip() for text in texts]
        n = len(stripped)
        lengths = np.fromiter(map(len, stripped), np.int64, n)  # [n]
        blanks = np.flatnonzero(lengths == 0)
        starts = np.concatenate([[0], blanks + 1])  # [K] stretch k: lines [starts[k], stops[k])
        stops = np.append(blanks, n)
        total = np.concatenate([[0], np.cumsum(lengths)])
        chars = total[stops] - total[starts]
        full = stops > starts
        longest = np.zeros(len(starts), np.int64)
        if full.any():  # blank lines between stretches are 0 long: they do not change a maximum
            longest[full] = np.maximum.reduceat(lengths, starts[full])
        marked = np.asarray(control, np.int64)
        whole = full & (chars < self.max_document_chars) & (longest <= self.max_line_chars) \
            & (np.searchsorted(marked, stops) == np.searchsorted(marked, starts))
        last = len(starts) - 1
        whole[[0, last]] = False
        care = full & ~whole  # stretches to take one by one
        care[[0, last]] = True
        s, e, c = starts.tolist(), stops.tolist(), chars.tolist()
        ready = np.flatnonzero(whole)
        self.stats.documents += len(ready)
        self.stats.characters += int(chars[ready].sum())
        self.stats.one_sentence_documents += int((stops[ready] - starts[ready] == 1).sum())
        done = 0  # whole documents handed on
        ready_list = ready.tolist()
        for k in np.flatnonzero(care).tolist():
            upto = bisect_left(ready_list, k)
            for j in ready_list[done:upto]:
                yield stripped[s[j] : e[j]], c[j]
            done = upto
            yield from self._stretch(doc, stripped[s[k] : e[k]], c[k], s[k], first, path, control)
            if k < last:  # a blank line follows: the document ends
                yield from self._finished(doc)

    def _stretch(self, doc: _Pending, lines: list[str], chars: int, start: int, first: int, path: Path,
                 control: list[int]) -> Iterator[tuple[list[str], int]]:
        """Add stripped non-blank ``lines``, from line ``start`` of a block whose first line is number
        ``first``, to ``doc``."""
        if not lines:
            return
        if (doc.chars + chars >= self.max_document_chars or max(map(len, lines)) > self.max_line_chars
                or bisect_left(control, start + len(lines)) > bisect_left(control, start)):
            yield from self._lines_into(doc, lines, first + start, path)  # to split or clean: line by line
        else:
            doc.lines.extend(lines)
            doc.raw_lines += len(lines)
            doc.chars += chars

    def _finished(self, doc: _Pending) -> Iterator[tuple[list[str], int]]:
        """``doc`` if anything of it is left, counted; then start a new one."""
        if doc.lines or doc.raw_lines:
            chars = self._finish(doc.lines, doc.chars if doc.clean else None)
            if chars is not None:
                yield doc.lines, chars
        doc.reset()

    def _lines_into(self, doc: _Pending, texts: list[str | None], first: int,
                    path: Path) -> Iterator[tuple[list[str], int]]:
        """Add lines ``first``, ``first + 1`` ... to ``doc``, yielding each document they finish."""
        stats, limit = self.stats, self.max_line_chars
        clean = not self._check_control  # the block has no control characters at all
        for k, text in enumerate(texts):
            if text is None:
                continue
            text = text.strip()
            if not text:
                yield from self._finished(doc)
                continue
            doc.raw_lines += 1
            doc.clean = False  # ``doc.chars`` counts lines before their repair
            if len(text) > limit or not (clean or _CONTROL.search(text) is None):
                doc.lines.extend(self._clean(text, path, first + k))
            else:
                doc.lines.append(text)
            doc.chars += len(text)
            if doc.chars >= self.max_document_chars:  # a whole book without blank lines
                stats.long_documents_split += 1
                yield from self._finished(doc)

    def _blocks(self, path: Path) -> Iterator[tuple[int, list[str | None]]]:
        """(1-based number of the first line, the lines: text or None when not UTF-8), decoding
        ~1 MB blocks at a time.

        Line breaks are ``\\n``, ``\\r\\n`` or a lone ``\\r`` (old Mac files).
        """
        done_before = self.bytes_read
        number = 0
        rest = b""
        check = EncodingCheck(path)
        try:
            with open_binary(path) as handle:
                raw = getattr(handle, "fileobj", handle)
                while block := handle.read(BLOCK_BYTES):
                    block, held = rest + block, b""
                    if b"\r" in block:
                        if block.endswith(b"\r"):  # maybe half of a \r\n: decide with the next block
                            block, held = block[:-1], b"\r"
                        block = _universal_newlines(block)
                    cut = block.rfind(b"\n") + 1
                    if cut == 0 and len(block) > MAX_PENDING_BYTES:  # no newline for ages: cut between characters
                        cut = next(k for k in range(len(block) - 1, 0, -1) if block[k] & 0xC0 != 0x80)
                        block, rest = block[:cut] + b"\n", block[cut:] + held
                    else:
                        block, rest = block[:cut], block[cut:] + held
                    self.bytes_read = done_before + raw.tell()
                    texts = self._decode_block(block, path, number, check)
                    self.stats.lines += len(texts)
                    yield number + 1, texts
                    number += len(texts)
                    check.verdict()  # a file in another encoding fails on its first block
                if rest:
                    self.stats.lines += 1
                    yield number + 1, [self._decode(rest.rstrip(b"\r"), path, number + 1, check)]
                check.verdict()
        except (EOFError, OSError, zlib.error) as exc:
            raise InputError(f"cannot be read beyond line {number:,} ({type(exc).__name__}: {exc or 'unexpected end'}); "
                             "the file is truncated or damaged (a .gz cut short?): copy it again or "
                             "`gzip -t` it", path=path) from None
        self.bytes_read = done_before + path.stat().st_size

    def _decode_block(self, block: bytes, path: Path, first: int, check: EncodingCheck) -> list[str | None]:
        """Lines of a block that ends with a newline; only a block with bad bytes is decoded line by line."""
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            lines = block.split(b"\n")[:-1]
            return [self._decode(data, path, first + k + 1, check) for k, data in enumerate(lines)]
        self._check_control = _CONTROL.search(text) is not None  # skip the per-line search when clean
        self._control_lines = _control_lines(text) if self._check_control else []
        lines = text.split("\n")[:-1]
        check.good += len(lines)
        return lines

    def _decode(self, data: bytes, path: Path, number: int, check: EncodingCheck) -> str | None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.stats.invalid_utf8_lines += 1
            self.stats.note(f"invalid UTF-8 at byte {exc.start}, line skipped", path, number)
            check.bad_line(number, data, exc.start)
            return None
        self._check_control = True
        self._control_lines = None
        check.good += bool(text.strip())
        return text

    def _clean(self, text: str, path: Path, number: int) -> list[str]:
        if _CONTROL.search(text):
            self.stats.control_char_lines += 1
            self.stats.note("control characters removed", path, number)
            text = _CONTROL.sub("", text).strip()
            if not text:
                return []
        if len(text) > self.max_line_chars:
            self.stats.long_lines_split += 1
            self.stats.note(f"line of {len(text)} characters split", path, number)
            return split_long_line(text, self.max_line_chars)
        return [text]

    def _finish(self, doc: list[str], chars: int | None = None) -> int | None:
        """Count a finished document (of ``chars`` characters when known): its characters, or None
        when nothing of it is left."""
        if not doc:
            self.stats.empty_documents += 1
            return None
        self.stats.documents += 1
        chars = sum(map(len, doc)) if chars is None else chars
        self.stats.characters += chars
        if len(doc) == 1:
            self.stats.one_sentence_documents += 1
        return chars


def chunked(reader: CorpusReader, max_docs: int, max_chars: int) -> Iterator[Chunk]:
    """Group documents into chunks; a last chunk of a single document joins the one before it
    (a next-sentence pair needs a second document to draw from)."""
    pending: Chunk | None = None
    docs: list[list[str]] = []
    chars = 0
    index = 0
    for doc, doc_chars in reader.sized_documents():
        docs.append(doc)
        chars += doc_chars
        if len(docs) >= max_docs or (chars >= max_chars and len(docs) >= 2):
            if pending is not None:
                yield pending
            pending, docs, chars = Chunk(index, docs), [], 0
            index += 1
    if pending is None:
        if len(docs) < 2:
            raise InputError(
                f"the corpus has {len(docs)} document(s); at least 2 are needed (documents are "
                "separated by blank lines, one sentence a line)",
                path=", ".join(map(str, reader.paths)),
            )
        yield Chunk(index, docs)
        return
    if len(docs) == 1:
        pending.documents.extend(docs)
    elif docs:
        yield pending
        pending = Chunk(index, docs)
    yield pending
