"""A killed augment run: its temp sidecar is removed and the rerun ends with the uninterrupted output."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from typer.testing import CliRunner

from tinyzh.cli import app

ROWS = [{"sentence1": "张三今天很高兴，他喜欢这个漂亮的城市", "sentence2": "张三喜欢这个城市", "label": "entailment"},
        {"sentence1": "李四不喜欢漂亮的东西", "sentence2": "李四很高兴", "label": "neutral"}]


def test_rerun_after_a_kill_removes_the_temp_sidecar_and_the_stale_lock(tmp_path: Path) -> None:
    train = tmp_path / "train.json"
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    out = tmp_path / "out.json"
    argv = ["augment", "--task", "ocnli", "--input", str(train), "--output", str(out), "--num-aug", "3"]
    assert CliRunner().invoke(app, argv).exit_code == 0
    expected = out.read_bytes()
    # As a kill leaves it: a half-written sidecar temp and a lock whose process is gone.
    (tmp_path / ".out.json.progress.json.tmp-99999").write_text("{", encoding="utf-8")
    dead = 2**22 + 1  # above Linux's largest possible pid
    (tmp_path / "out.json.lock").write_text(json.dumps({"pid": dead, "host": socket.gethostname()}), encoding="utf-8")
    result = CliRunner().invoke(app, [*argv, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "out.json.progress.json", "train.json"]
