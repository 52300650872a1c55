"""Side-by-side benchmark plumbing, with a fake peer script standing in for TinyBERT's."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tests.pregen import helpers

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import pregen as pregen_bench  # noqa: E402
import side_by_side  # noqa: E402

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
    script.write_text(FAKE_PEER)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "peer" / "TinyBERT").mkdir(parents=True)
    log = tmp_path / "peer.log"
    monkeypatch.setenv("FAKE_PEER_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return script, tmp_path / "peer", log


def test_machine_line_names_the_cpu_flags_and_load() -> None:
    name, flags = side_by_side.cpu_info()
    line = side_by_side.machine_line()
    assert name in line and f"{os.cpu_count()} cores" in line and "load " in line
    for flag in side_by_side.MATMUL_FLAGS:  # each flag is said to be there or missing
        assert flag in line
    if "avx512_bf16" not in flags:
        assert "no " in line


def test_alternate_runs_in_turn_and_ratio_is_of_medians() -> None:
    order: list[str] = []
    times = {"peer": iter([10.0, 30.0, 20.0]), "ours": iter([2.0, 1.0, 9.0])}

    def command(name: str):  # noqa: ANN202
        return lambda: (order.append(name), {"seconds": next(times[name])})[1]

    runs = side_by_side.alternate({"peer": command("peer"), "ours": command("ours")}, pairs=3)
    assert order == ["peer", "ours"] * 3
    line = side_by_side.ratio_line("work", runs["peer"], runs["ours"])
    assert "TinyBERT 20.00 s, tinyzh 2.00 s" in line and "ratio 10.00x" in line and "medians of 3" in line
    assert side_by_side.machine_line()[:20] in line


def test_unprepared_peer_folder_says_how_to_prepare_it(tmp_path: Path, fake_peer: tuple) -> None:
    script, _, _ = fake_peer
    with pytest.raises(SystemExit, match="setup"):
        side_by_side.check_peer(tmp_path / "nowhere", script)


def test_pregen_without_peer_says_no_ratio_was_measured(capsys: pytest.CaptureFixture, vocab_dir: Path,
                                                        tmp_path: Path) -> None:
    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(6, seed=2))
    assert pregen_bench.main(["--only-peer", "--corpus", str(corpus), "--vocab", str(vocab_dir)]) == 0
    assert "no ratio measured" in capsys.readouterr().out


def test_pregen_side_by_side_with_a_fake_peer(capsys: pytest.CaptureFixture, vocab_dir: Path, tmp_path: Path,
                                              fake_peer: tuple) -> None:
    script, peer, log = fake_peer
    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(20, seed=3))
    code = pregen_bench.main(["--peer", str(peer), "--peer-script", str(script), "--pairs", "1", "--scale", "2",
                              "--epochs", "2", "--only-peer", "--corpus", str(corpus), "--vocab", str(vocab_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert log.read_text().split() == ["pregen"]
    assert "TinyBERT: 14 instances" in out  # 7 per epoch file, 2 epochs
    assert "pregen, tinyzh (rjieba) vs TinyBERT" in out and "ratio " in out and side_by_side.cpu_info()[0] in out
