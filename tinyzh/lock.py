"""One run per output: an advisory lock file beside (or inside) what a command writes.

A directory output (pregen, distill, eval) is locked by ``<output>/.tinyzh.lock``, a file output
(augment, export) by ``<file>.lock``. The lock is created atomically (``O_CREAT | O_EXCL``) and holds
``{"pid", "host", "started", "time", "command"}``; it is removed when the run ends. A second run on a
busy output stops with :class:`~tinyzh.errors.OutputLocked` naming the owner. A lock left by a killed
run is *stale* when it names this host and a pid that is no longer alive, or (Linux) whose process
started after the lock was written (the pid was reused); it is then taken over. A lock of another
host cannot be checked, so the message says how to remove it by hand. Usage::

    with output_lock(config.output, "pregen"):
        ...write the output...
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tinyzh.errors import OutputError, OutputLocked
from tinyzh.io import describe_os_error

DIR_LOCK = ".tinyzh.lock"
UNREADABLE_GRACE_S = 10.0  # an empty lock younger than this may be one being written right now


def lock_path(output: Path, kind: str) -> Path:
    return output / DIR_LOCK if kind == "dir" else output.with_name(output.name + ".lock")


def _check_kind(output: Path, kind: str) -> None:
    if kind == "dir" and output.exists() and not output.is_dir():
        raise OutputError(f"--output {output} is a file, but a directory is expected; choose a directory path")
    if kind == "file" and output.is_dir():
        raise OutputError(f"--output {output} is a directory, but a file is expected; give a file name "
                          f"(e.g. {output / 'out.json'})")


def _create(path: Path, owner: dict[str, Any]) -> bool:
    """Create the lock file with ``owner`` in it; False when it already exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(owner))
    return True


def _read_owner(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}  # released meanwhile: try again
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (Unix time), from /proc; None where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text(encoding="utf-8").splitlines()
                    if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat: start in clock ticks
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def is_stale(owner: dict[str, Any] | None, path: Path) -> bool:
    """True when the run that wrote ``owner`` is certainly gone."""
    if owner is None:  # killed between creating and writing it, unless that is happening right now
        try:
            return time.time() - path.stat().st_mtime > UNREADABLE_GRACE_S
        except FileNotFoundError:
            return True
    if owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    if not _pid_alive(pid):
        return True
    started, written = _process_start(pid), owner.get("time")
    return started is not None and isinstance(written, int | float) and started > written + 2.0  # pid reused


def _busy_message(output: Path, path: Path, owner: dict[str, Any] | None) -> str:
    if owner is None:
        return (f"--output {output} is locked by {path}, which is being written or is damaged; "
                f"if no other tinyzh run uses {output}, delete {path} and rerun")
    who = f"`tinyzh {owner.get('command', '?')}` (pid {owner.get('pid')} on host {owner.get('host')}, " \
          f"started {owner.get('started', '?')})"
    fix = "wait for it to finish or stop it, or choose another --output"
    if owner.get("host") != socket.gethostname():
        fix += f"; if that run is gone, delete {path}"
    return f"--output {output} is in use by {who}; {fix}"


@contextmanager
def output_lock(output: str | Path, command: str, kind: str = "dir", enabled: bool = True) -> Iterator[Path | None]:
    """Hold the lock of ``output`` (``kind`` "dir" or "file") for the block.

    ``enabled=False`` (torchrun ranks other than 0) does nothing: one process owns the output.
    """
    output = Path(output)
    if not enabled:
        yield None
        return
    _check_kind(output, kind)
    path = lock_path(output, kind)
    owner = {"pid": os.getpid(), "host": socket.gethostname(),
             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "time": round(time.time(), 3), "command": command}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _acquire(output, path, owner)
    except OSError as exc:
        raise OutputError(describe_os_error(path.parent, exc)) from None
    try:
        yield path
    finally:
        if _read_owner(path) == owner:  # never remove a lock another run took over
            path.unlink(missing_ok=True)


def _acquire(output: Path, path: Path, owner: dict[str, Any]) -> None:
    # Two tries: a stale lock is removed once, then O_EXCL decides who wins a race for it.
    for _ in range(2):
        if _create(path, owner):
            return
        found = _read_owner(path)
        if found == {}:
            continue
        if not is_stale(found, path):
            raise OutputLocked(_busy_message(output, path, found))
        path.unlink(missing_ok=True)
    raise OutputLocked(_busy_message(output, path, _read_owner(path) or None))
