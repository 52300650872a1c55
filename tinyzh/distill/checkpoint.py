"""Training checkpoints: written atomically, read back without unpickling arbitrary objects.

Layout under ``<output>/checkpoints/``::

    step-000200/                     one checkpoint, complete or absent (temp dir + os.replace)
        student.safetensors          student weights (tied embeddings handled by safetensors' save_model)
        projections.safetensors      student -> teacher width projections (when there are any)
        training_state.pt            optimizer, scheduler, grad scaler, RNG states of every rank,
                                     data position; plain tensors/numbers only: torch.load(weights_only=True)
        distill_config.json          the config that wrote it
    latest.json                      {"path": "step-000200", "step": 200}, replaced atomically

A kill leaves at most a temp folder ``.step-NNNNNN.*`` and a temp pointer ``.latest.json.tmp-PID``;
:func:`remove_leftovers` deletes them on the next run (the output's lock is held then). A
``latest.json`` that is damaged or names a checkpoint that is gone is an error, never a silent
restart from step 0: the message names the newest complete checkpoint and how to go on.

Usage::

    save_checkpoint(root, step, student, projections, state, config_dict)
    path = latest_checkpoint(root)          # None when there is none
    state = load_checkpoint(path, student, projections)
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tinyzh.errors import ConfigError, InputError
from tinyzh.hf import load_error_reason, weights_errors
from tinyzh.io import output_errors, remove_temp_files, write_json

LATEST = "latest.json"
KEEP = 2  # checkpoints kept on disk; older ones are deleted after a newer one is complete


def rng_state() -> dict[str, Any]:
    """This process's torch / numpy / python RNG states as tensors and plain numbers."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(root: Path, step: int, student: nn.Module, projections: nn.Module | None,
                    state: dict[str, Any], config: dict[str, Any]) -> Path:
    """Write ``root/step-NNNNNN`` completely, then point ``latest.json`` at it, then prune old ones."""
    from safetensors.torch import save_model

    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:06d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    final = root / name
    try:
        # The weights twice over (student + AdamW's two moments) is about what a checkpoint needs.
        with output_errors(final, 3 * _param_bytes(student, projections)):
            save_model(student, str(tmp / "student.safetensors"))
            if projections is not None and len(list(projections.parameters())):
                save_model(projections, str(tmp / "projections.safetensors"))
            torch.save(state, tmp / "training_state.pt")
            write_json(tmp / "distill_config.json", config)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_json(root / LATEST, {"path": name, "step": step})
    _prune(root, keep=KEEP)
    return final


def _param_bytes(*modules: nn.Module | None) -> int:
    return sum(p.numel() * p.element_size() for m in modules if m is not None for p in m.parameters())


def remove_leftovers(root: Path) -> None:
    """Temp checkpoint folders and temp pointers of a killed run (call with the lock held)."""
    if not root.is_dir():
        return
    for tmp in root.glob(".step-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    remove_temp_files(root)


def _prune(root: Path, keep: int) -> None:
    done = sorted(p for p in root.glob("step-*") if p.is_dir())
    for old in done[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def complete_checkpoints(root: Path) -> list[Path]:
    """Checkpoint folders holding every file a resume needs, oldest first."""
    needed = ("student.safetensors", "training_state.pt", "distill_config.json")
    return sorted(p for p in root.glob("step-*") if p.is_dir() and all((p / f).is_file() for f in needed))


def _way_out(root: Path) -> str:
    done = complete_checkpoints(root)
    if done:
        newest = done[-1].name
        step = int(newest.split("-")[1])
        return (f"to resume from the newest complete checkpoint, {newest}, write "
                f"{{\"path\": \"{newest}\", \"step\": {step}}} into {root / LATEST}; or pass --no-resume to start over")
    return "no complete checkpoint is left: pass --no-resume to start over"


def latest_checkpoint(root: Path) -> Path | None:
    """The checkpoint ``latest.json`` names, or None when there is none (a fresh output)."""
    pointer = root / LATEST
    if not pointer.exists():
        return None
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["path"]
        if not isinstance(name, str):
            raise TypeError(f"path is {name!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"damaged ({type(exc).__name__}: {exc}); {_way_out(root)}", path=pointer) from None
    path = root / name
    if not (path / "training_state.pt").is_file():
        raise InputError(f"names checkpoint {name}, which is missing or incomplete; {_way_out(root)}", path=pointer)
    return path


def stored_config(path: Path) -> dict[str, Any]:
    """The ``distill_config.json`` a checkpoint was written with."""
    file = path / "distill_config.json"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError(f"expected an object, found {type(data).__name__}")
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"damaged or unreadable ({type(exc).__name__}: {exc}); {_way_out(path.parent)}",
                         path=file) from None
    return data


def load_checkpoint(path: Path, student: nn.Module, projections: nn.Module | None) -> dict[str, Any]:
    """Load weights into ``student`` / ``projections`` in place and return the training state dict."""
    from safetensors.torch import load_model

    try:
        load_model(student, str(path / "student.safetensors"))
        if (path / "projections.safetensors").exists() and projections is not None:
            load_model(projections, str(path / "projections.safetensors"))
        return torch.load(path / "training_state.pt", weights_only=True, map_location="cpu")
    except (OSError, RuntimeError, *weights_errors()) as exc:
        raise ConfigError(
            f"checkpoint {path} could not be loaded ({load_error_reason(exc)}); pass --no-resume to start "
            f"over, or delete it and point {path.parent / LATEST} at an older checkpoint"
        ) from None
