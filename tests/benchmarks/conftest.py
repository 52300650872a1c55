"""Fixtures of the benchmark tests: a fake peer script standing in for tinybert_peer.sh."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Stands in for tinybert_peer.sh: logs each call, writes the metrics files pregen's benchmark reads,
# and for distill prints a tqdm-like last line.
FAKE_PEER = """#!/usr/bin/env bash
set -e
cmd=$1; shift
echo "$cmd" >> "$FAKE_PEER_LOG"
case "$cmd" in
pregen) out=$4; epochs=$5; mkdir -p "$out"
  for ((e = 0; e < epochs; e++)); do echo '{"num_training_examples": 7, "max_seq_len": 128}' > "$out/epoch_${e}_metrics.json"; done ;;
models) mkdir -p "$1/teacher" "$1/student" ;;
distill) echo "Iteration:   0%|          | 3/1385 [00:30<3:40:00, 9.50s/it]" ;;
esac
"""


@pytest.fixture()
def fake_peer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    script = tmp_path / "fake_peer.sh"
    script.write_text(FAKE_PEER, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "peer" / "TinyBERT").mkdir(parents=True)
    log = tmp_path / "peer.log"
    monkeypatch.setenv("FAKE_PEER_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return script, tmp_path / "peer", log
