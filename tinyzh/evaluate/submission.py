"""CLUE leaderboard submission files: one ``{"id": …, "label": "…"}`` a line, in test-file order.

Usage::

    write_submission(out / "tnews11_predict.json", ids, labels)
    zip_submissions([out / "tnews11_predict.json"], out.parent / "submission.zip")   # flat
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

from tinyzh.io import write_atomic


def write_submission(path: str | Path, ids: Sequence[int | str], labels: Sequence[str]) -> Path:
    """Write the file atomically, so a crash never leaves half a submission."""
    if len(ids) != len(labels):
        raise ValueError(f"{len(ids)} ids but {len(labels)} labels")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps({"id": id_, "label": str(label)}, ensure_ascii=False) + "\n"
             for id_, label in zip(ids, labels, strict=True))
    write_atomic(path, "".join(lines))
    return path


def zip_submissions(files: Sequence[str | Path], zip_path: str | Path) -> Path:
    """Zip ``files`` (flat, sorted by name) into ``zip_path``: the files the run wrote, by name, so a
    plugin task's file is included whatever it is called."""
    zip_path = Path(zip_path)
    files = sorted({Path(f) for f in files}, key=lambda f: f.name)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, arcname=file.name)
    return zip_path
