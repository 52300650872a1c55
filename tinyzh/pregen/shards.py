"""The shard file: a few flat numpy arrays behind a small JSON header.

Layout (all little-endian)::

    b"TZPGSHRD"  uint32 version  uint32 header_bytes  header (JSON)  padding  array bytes ...

The header lists each array's ``dtype``, ``offset`` (from the start of the file, 8-byte aligned) and
``count``. Instances are rows of variable length: ``lengths`` [N] gives each row's token count and
``num_masked`` [N] its number of masked positions, so row ``i`` is
``input_ids[sum(lengths[:i]) : sum(lengths[:i+1])]``. Arrays:

- ``input_ids`` [T] uint16 (int32 for vocabularies over 65,535): masked for static masking;
- ``word_flags`` [T] uint8: 1 first token of a word, 0 continuation, 2 ``[CLS]``/``[SEP]``;
- ``lengths``, ``a_lengths`` [N] uint16: row length and length of segment A (token type 1 starts
  after ``[CLS] A [SEP]``);
- ``num_masked`` [N] uint16, ``masked_positions`` [M] uint16, ``masked_labels`` [M] (ids' dtype);
- ``next_sentence_label`` [N] int8 (-1 without a pair task).

Writing is deterministic (no timestamps), so equal data gives equal bytes and equal sha256.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from tinyzh.errors import InputError
from tinyzh.io import atomic_writer, write_all

MAGIC = b"TZPGSHRD"
VERSION = 1
ARRAYS = ("input_ids", "word_flags", "lengths", "a_lengths", "num_masked", "masked_positions", "masked_labels",
          "next_sentence_label")


def id_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= 65535 else np.int32)


def shard_dtypes(vocab_size: int) -> dict[str, np.dtype]:
    ids = id_dtype(vocab_size)
    return {
        "input_ids": ids, "word_flags": np.dtype(np.uint8), "lengths": np.dtype(np.uint16),
        "a_lengths": np.dtype(np.uint16), "num_masked": np.dtype(np.uint16),
        "masked_positions": np.dtype(np.uint16), "masked_labels": ids, "next_sentence_label": np.dtype(np.int8),
    }


def write_shard(path: Path, arrays: dict[str, np.ndarray], vocab_size: int, meta: dict[str, Any]) -> str:
    """Write atomically (temp file + rename) and return the file's sha256."""
    dtypes = shard_dtypes(vocab_size)
    blobs = [np.ascontiguousarray(arrays[name], dtype=dtypes[name]).tobytes() for name in ARRAYS]
    entries, offset = {}, 0
    for name, blob in zip(ARRAYS, blobs, strict=True):
        entries[name] = {"dtype": dtypes[name].str, "offset": offset, "count": len(blob) // dtypes[name].itemsize}
        offset += _aligned(len(blob))
    # Offsets above are relative to the data start; shift them once the header size is known.
    header = {"meta": meta, "arrays": entries}
    head = json.dumps(header, sort_keys=True).encode()
    data_start = _aligned(16 + len(head) + 64)  # room for offsets growing the JSON by a few digits
    for entry in entries.values():
        entry["offset"] += data_start
    head = json.dumps(header, sort_keys=True).encode()
    prefix = MAGIC + struct.pack("<II", VERSION, len(head)) + head
    prefix += b"\0" * (data_start - len(prefix))
    digest = hashlib.sha256(prefix)
    size = data_start + offset
    with atomic_writer(path, size) as handle:  # a kill leaves a temp file; the next run removes it
        write_all(handle, prefix, path, size)
        for blob in blobs:
            pad = b"\0" * (_aligned(len(blob)) - len(blob))
            write_all(handle, blob + pad, path, size)
            digest.update(blob + pad)
    return digest.hexdigest()


def _damaged(path: Path, problem: str) -> InputError:
    return InputError(f"damaged pregen shard: {problem}; rerun the same `tinyzh pregen` command to "
                      "rebuild it (shards that check out are kept)", path=path)


def read_header(path: Path) -> tuple[dict[str, Any], np.memmap]:
    """The JSON header and the memory-mapped file; an ``InputError`` for a truncated or foreign file."""
    size = path.stat().st_size
    if size < 16:
        raise _damaged(path, f"{size} bytes, shorter than the 16-byte preamble")
    mapped = np.memmap(path, dtype=np.uint8, mode="r")
    if bytes(mapped[:8]) != MAGIC:
        raise InputError("not a tinyzh pregen shard (bad magic bytes); rerun `tinyzh pregen`", path=path)
    version, head_len = struct.unpack("<II", bytes(mapped[8:16]))
    if version != VERSION:
        raise InputError(f"shard format version {version}, this tinyzh reads {VERSION}; rerun `tinyzh pregen`",
                         path=path)
    try:
        header = json.loads(bytes(mapped[16 : 16 + head_len]))
        ends = [e["offset"] + e["count"] * np.dtype(e["dtype"]).itemsize for e in header["arrays"].values()]
        header["meta"]  # noqa: B018 - KeyError: damaged
    except (ValueError, KeyError, TypeError) as exc:
        raise _damaged(path, f"unreadable header ({type(exc).__name__})") from None
    if set(header["arrays"]) != set(ARRAYS):
        raise _damaged(path, f"arrays {sorted(header['arrays'])}, expected {list(ARRAYS)}")
    if max(ends) > size:
        raise _damaged(path, f"{size:,} bytes, but its header describes {max(ends):,} (cut short)")
    return header, mapped


def check_shard(path: Path, num_instances: int) -> None:
    """Fail at open time, not mid-training, on a truncated shard or one of another run."""
    header, _ = read_header(path)
    found = header["arrays"]["lengths"]["count"]
    if found != num_instances:
        raise _damaged(path, f"{found:,} instances, manifest.json lists {num_instances:,}")


def read_shard(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header meta and the arrays (memory-mapped, read-only)."""
    header, mapped = read_header(path)
    arrays = {}
    for name, entry in header["arrays"].items():
        dtype = np.dtype(entry["dtype"])
        start = entry["offset"]
        arrays[name] = mapped[start : start + entry["count"] * dtype.itemsize].view(dtype)
    return header["meta"], arrays


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _aligned(size: int) -> int:
    return (size + 7) // 8 * 8
