"""File writing that a crash cannot leave half done, and that fails with one readable line.

Every output file of tinyzh goes through here, always UTF-8: :func:`write_atomic` for whole files
(manifests, pointers, summaries), :func:`write_json` for JSON, :func:`atomic_writer` for a file written
piece by piece that must appear whole (shards, a rebalanced output), :func:`write_all` for appends to an
open file (JSON lines), and :func:`output_errors` around writes done by other libraries (``torch.save``,
``save_pretrained``).
A full disk, a read-only filesystem or a directory where a file belongs becomes an ``OutputError``
that names the path, the bytes being written and the fix. Usage::

    write_atomic(out / "manifest.json", text)
    write_json(out / "results.json", {"模型": 1})         # UTF-8, indented, non-ASCII kept
    with atomic_writer(out / "shard-0.bin") as handle:   # appears only when the block succeeds
        write_all(handle, blob, out / "shard-0.bin")
    with output_errors(out / "model.safetensors", nbytes=size):
        model.save_pretrained(out)
"""

from __future__ import annotations

import errno
import glob
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from tinyzh.errors import OutputError

TEMP_MARK = ".tmp-"  # write_atomic's temp files: .<name>.tmp-<pid>


def describe_os_error(path: str | Path, exc: OSError, nbytes: int | None = None) -> str:
    """One line for a failed write: what happened to which path, and what to do."""
    size = f" while writing {nbytes:,} bytes" if nbytes else ""
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return (f"{path}: the disk is full{size} ({exc.strerror}); free at least that much space there "
                "or choose an --output on another disk, then rerun the same command to resume")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{path}: cannot write here ({exc.strerror}); choose a writable --output"
    if code == errno.EISDIR:
        return f"{path} is a directory where a file is expected; choose a file name for --output"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return f"{path}: a file is in the way where a directory is expected ({exc.strerror}); choose another --output"
    return f"{path}: cannot write{size} ({exc.strerror or type(exc).__name__}); check the path and the disk"


@contextmanager
def output_errors(path: str | Path, nbytes: int | None = None) -> Iterator[None]:
    """Turn an ``OSError`` raised inside the block into an ``OutputError`` about ``path``."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(describe_os_error(path, exc, nbytes)) from exc


def _raw_write(handle: BinaryIO, data: bytes) -> None:
    """The one place bytes reach a file (tests replace it to simulate a full disk)."""
    handle.write(data)


def write_all(handle: BinaryIO, data: bytes, path: str | Path, nbytes: int | None = None) -> None:
    """``handle.write(data)`` for a binary handle opened on ``path``, with readable failures.

    ``nbytes``: the size of the whole file being written, for the message (default ``len(data)``).
    """
    with output_errors(path, nbytes or len(data)):
        _raw_write(handle, data)


def temp_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place: ``.<name>.tmp-<pid>`` beside it."""
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}")


@contextmanager
def atomic_writer(path: str | Path, nbytes: int | None = None) -> Iterator[BinaryIO]:
    """A binary handle on a temp file that replaces ``path`` when the block ends without an error.

    Readers see the old file or the new one, never a torn one. The temp name carries the pid so
    concurrent writers cannot collide; one left by a kill is removed by :func:`remove_temp_files`.
    """
    path = Path(path)
    tmp = temp_path(path)
    try:
        with output_errors(path, nbytes):
            with open(tmp, "wb") as handle:
                yield handle
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (a ``str`` is encoded as UTF-8) to ``path`` through :func:`atomic_writer`."""
    blob = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_writer(path, len(blob)) as handle:
        _raw_write(handle, blob)


def json_text(data: Any, indent: int | None = 2) -> str:
    """JSON as tinyzh writes it: non-ASCII kept (Chinese labels stay readable), paths as strings."""
    return json.dumps(data, indent=indent, ensure_ascii=False, default=str) + "\n"


def write_json(path: str | Path, data: Any, indent: int | None = 2) -> None:
    """``data`` as UTF-8 JSON at ``path``, atomically, whatever the locale's encoding."""
    write_atomic(path, json_text(data, indent))


def remove_temp_files(directory: Path, name: str = "") -> int:
    """Delete ``write_atomic`` temp files a killed run left in ``directory`` (only those of files
    whose name starts with ``name``, when given); returns how many.

    Only called with the output's lock held, so no live writer owns them.
    """
    removed = 0
    if directory.is_dir():
        for tmp in directory.glob(f".{glob.escape(name)}*{TEMP_MARK}*"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed
