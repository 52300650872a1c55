"""One run per output: the lock of every writing command, stale locks, and the owner in the message."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests import tiny
from tests.pregen import helpers
from tests.tasks import clue_files
from tinyzh.cli import app
from tinyzh.errors import OutputError, OutputLocked
from tinyzh.lock import DIR_LOCK, lock_path, output_lock


def flat(text: str) -> str:
    """Output without rich's line wrapping."""
    return "".join(text.split())


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_is_created_with_the_owner_and_removed_after(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with output_lock(out, "pregen") as path:
        assert path == out / DIR_LOCK
        owner = json.loads(path.read_text(encoding="utf-8"))
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        assert owner["command"] == "pregen" and owner["started"]
    assert not (out / DIR_LOCK).exists()


def test_second_holder_is_refused_with_owner_and_fix(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    with output_lock(out, "augment", kind="file"):
        with pytest.raises(OutputLocked) as err, output_lock(out, "augment", kind="file"):
            pass
    message = str(err.value)
    assert f"--output {out} is in use by `tinyzh augment` (pid {os.getpid()} on host {socket.gethostname()}" in message
    assert "wait for it to finish" in message
    assert not lock_path(out, "file").exists()  # released by its owner


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = {"pid": dead_pid(), "host": socket.gethostname(), "started": "x", "command": "distill"}
    (out / DIR_LOCK).write_text(json.dumps(stale), encoding="utf-8")
    with output_lock(out, "distill") as path:
        assert json.loads(path.read_text(encoding="utf-8"))["pid"] == os.getpid()


def test_lock_whose_pid_was_reused_by_a_newer_process_is_stale(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = {"pid": proc.pid, "host": socket.gethostname(), "command": "pregen"}
        (out / DIR_LOCK).write_text(json.dumps({**owner, "time": time.time() + 3600}), encoding="utf-8")  # written "after" it started
        with pytest.raises(OutputLocked), output_lock(out, "pregen"):
            pass
        if not Path(f"/proc/{proc.pid}/stat").exists():
            pytest.skip("no /proc: a reused pid cannot be told from its owner")
        (out / DIR_LOCK).write_text(json.dumps({**owner, "time": time.time() - 3600}), encoding="utf-8")  # before it started
        with output_lock(out, "pregen"):
            pass
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_another_host_is_not_guessed_stale(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / DIR_LOCK).write_text(json.dumps({"pid": 1, "host": "elsewhere-42", "started": "x", "command": "eval"}), encoding="utf-8")
    with pytest.raises(OutputLocked, match="on host elsewhere-42.*if that run is gone, delete"):
        with output_lock(out, "eval"):
            pass


def test_empty_lock_is_stale_only_when_old(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / DIR_LOCK).write_text("", encoding="utf-8")  # killed between creating and writing it, or being written now
    with pytest.raises(OutputLocked, match="being written or is damaged"):
        with output_lock(out, "pregen"):
            pass
    os.utime(out / DIR_LOCK, (1, 1))
    with output_lock(out, "pregen"):
        pass


def test_disabled_lock_does_nothing(tmp_path: Path) -> None:
    with output_lock(tmp_path / "out", "distill", enabled=False) as path:
        assert path is None and not (tmp_path / "out").exists()


def test_a_file_where_a_directory_is_expected_and_the_reverse(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="is a file, but a directory is expected"):
        with output_lock(tmp_path / "file", "pregen"):
            pass
    with pytest.raises(OutputError, match="is a directory, but a file is expected"):
        with output_lock(tmp_path, "augment", kind="file"):
            pass


# --------------------------------------------------------------------------- every command, through the CLI
@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lock")
    vocab = tiny.write_vocab(root / "vocab")
    model = tiny.save_tiny_bert(root / "model", vocab, kind="base", layers=1, hidden=32)
    corpus = helpers.write_corpus(root / "c.txt", helpers.documents(6))
    train = root / "train.json"
    train.write_text(json.dumps({"sentence1": "今天很好", "sentence2": "很好", "label": "neutral"},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    return {"vocab": vocab, "model": model, "corpus": corpus, "train": train,
            "clue": clue_files.write_clue(root / "clue", ["afqmc"])}


def commands(p: dict[str, Path], out: Path) -> dict[str, tuple[list[str], str]]:
    """Each writing command with a valid option set, and the kind of output it locks."""
    return {
        "pregen": (["pregen", str(p["corpus"]), "-o", str(out), "--tokenizer", str(p["vocab"]), "--workers", "1",
                    "--quiet"], "dir"),
        "distill": (["distill", "--data", str(out), "--output", str(out), "--teacher", str(p["model"])], "dir"),
        "augment": (["augment", "--task", "ocnli", "--input", str(p["train"]), "--output", str(out)], "file"),
        "eval": (["eval", "-m", str(p["model"]), "--tasks", "afqmc", "--data-dir", str(p["clue"]), "-o", str(out)],
                 "dir"),
        "export": (["export", str(p["model"]), "--format", "torchscript", "-o", str(out)], "file"),
    }


@pytest.mark.parametrize("command", ["pregen", "distill", "augment", "eval", "export"])
def test_every_command_refuses_a_busy_output(inputs: dict[str, Path], tmp_path: Path, command: str) -> None:
    out = tmp_path / ("out.pt" if command == "export" else "out.json" if command == "augment" else "out")
    argv, kind = commands(inputs, out)[command]
    with output_lock(out, command, kind=kind):
        result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert flat(f"error: --output {out} is in use by `tinyzh {command}` (pid {os.getpid()}") in flat(result.output)


def test_a_run_after_a_killed_one_takes_the_stale_lock(inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / DIR_LOCK).write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname(), "command": "pregen"}), encoding="utf-8")
    result = CliRunner().invoke(app, commands(inputs, out)["pregen"][0])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file() and not (out / DIR_LOCK).exists()
