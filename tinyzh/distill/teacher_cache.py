"""``--cache-teacher-logits``: the prediction step's teacher runs once per training row, not per epoch.

The teacher is frozen and in eval mode (no dropout), so its logits for a row are the same in every
epoch. Before the first step the teacher runs over the training rows once, in file order, and the
(N, C) logits (fp32, the teacher's class order) are written to ``OUTPUT/teacher_logits.pt`` with a
key of what they depend on (the encoded rows, the teacher, the precision). Every step then reads its
rows' logits from the batch and costs the student alone. A rerun or a resumed run with the same key
reads the file instead of running the teacher again; any other key recomputes it. Usage::

    cache_teacher_logits(phase, output)     # phase.data.dataset now yields "teacher_logits" (C,)
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from tinyzh.distill.data import model_inputs
from tinyzh.distill.distributed import barrier
from tinyzh.distill.wrappers import teacher_forward
from tinyzh.io import remove_temp_files, write_atomic

if TYPE_CHECKING:  # phase.py reads KEY from here
    from tinyzh.distill.phase import Phase

CACHE = "teacher_logits.pt"
KEY = "teacher_logits"


def cache_key(features: dict[str, torch.Tensor], teacher: str, precision: str) -> str:
    """sha256 of the encoded rows (input ids, token types, mask), the teacher's name and the precision."""
    digest = hashlib.sha256(f"{teacher}\0{precision}\0".encode())
    for name in ("input_ids", "token_type_ids", "attention_mask"):
        if name in features:
            tensor = features[name].contiguous()
            digest.update(f"{name}{tuple(tensor.shape)}".encode())
            digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


@torch.no_grad()
def compute_logits(phase: Phase) -> torch.Tensor:
    """(N, C) fp32 teacher logits of every row of ``phase.data``, in row order, batches of --batch-size."""
    dataset, collate, env = phase.data.dataset, phase.data.collate, phase.env
    types = getattr(phase.teacher.config, "type_vocab_size", 2) > 1
    rows, step = [], phase.config.batch_size
    for start in range(0, len(dataset), step):
        batch = collate([dataset[i] for i in range(start, min(start + step, len(dataset)))])
        out = teacher_forward(phase.teacher, model_inputs(batch, env.device, token_types=types), hidden=False,
                              logits=True)
        rows.append(out["logits"].float().cpu())
    return torch.cat(rows)


def _read(path: Path, key: str, n: int) -> torch.Tensor | None:
    """The stored logits when ``path`` holds them for ``key`` and ``n`` rows; None otherwise (or damaged)."""
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError):
        return None  # absent, or cut short by a kill: compute again
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    logits = stored.get("logits")
    return logits if isinstance(logits, torch.Tensor) and logits.size(0) == n else None


def _write(path: Path, key: str, logits: torch.Tensor) -> None:
    """Atomically: a kill never leaves a half-written cache under the real name."""
    import io

    buffer = io.BytesIO()
    torch.save({"key": key, "logits": logits}, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())


def cache_teacher_logits(phase: Phase, output: Path) -> dict[str, Any]:
    """Put the teacher's logits beside every row of the prediction phase's data; {"computed", "seconds"}."""
    import time

    features = phase.data.dataset.features  # type: ignore[attr-defined]  # a TaskDataset
    features.pop(KEY, None)
    key = cache_key(features, phase.config.teacher, phase.config.precision)
    path, n = Path(output) / CACHE, len(phase.data)
    start = time.perf_counter()
    logits = _read(path, key, n) if phase.config.resume is not False else None
    computed = logits is None
    if computed and phase.env.is_main:
        remove_temp_files(Path(output), CACHE)
        logits = compute_logits(phase)
        _write(path, key, logits)
    barrier(phase.env)
    if logits is None:  # another rank computed it
        logits = _read(path, key, n)
        if logits is None:
            logits = compute_logits(phase)
    features[KEY] = logits
    return {"computed": computed, "seconds": round(time.perf_counter() - start, 3)}
