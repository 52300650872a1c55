"""Side-by-side benchmark plumbing, with a fake peer script standing in for TinyBERT's."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.pregen import helpers

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import pregen as pregen_bench  # noqa: E402
import side_by_side  # noqa: E402


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

    runs = side_by_side.alternate({"peer": command("peer"), "ours": command("ours")}, pairs=3, settle=0)
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
    assert pregen_bench.main(["--no-table", "--corpus", str(corpus), "--vocab", str(vocab_dir)]) == 0
    assert "no ratio measured" in capsys.readouterr().out


def test_pregen_side_by_side_with_a_fake_peer(capsys: pytest.CaptureFixture, vocab_dir: Path, tmp_path: Path,
                                              fake_peer: tuple) -> None:
    script, peer, log = fake_peer
    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(20, seed=3))
    code = pregen_bench.main(["--peer", str(peer), "--peer-script", str(script), "--pairs", "1", "--scale", "2",
                              "--epochs", "2", "--no-table", "--corpus", str(corpus), "--vocab", str(vocab_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert log.read_text(encoding="utf-8").split() == ["pregen"]
    assert "TinyBERT: 14 instances" in out  # 7 per epoch file, 2 epochs
    assert "pregen, tinyzh (rjieba) vs TinyBERT" in out and "ratio " in out and side_by_side.cpu_info()[0] in out


def test_pregen_worker_scaling_alternates_one_and_two_workers(capsys: pytest.CaptureFixture, vocab_dir: Path,
                                                             tmp_path: Path, fake_peer: tuple) -> None:
    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(12, seed=5))
    assert pregen_bench.main(["--scaling-pairs", "1", "--scale", "1", "--epochs", "1", "--no-table",
                              "--corpus", str(corpus), "--vocab", str(vocab_dir)]) == 0
    out = capsys.readouterr().out
    order = [line.split(": ")[0].split(" ", 4)[-1] for line in out.splitlines() if line.startswith("  round")]
    assert order == ["rjieba, 1 worker(s)", "rjieba, 2 worker(s)", "jieba, 1 worker(s)", "jieba, 2 worker(s)"]
    assert "rjieba: 2 workers vs 1: 1 worker" in out and "jieba: 2 workers vs 1" in out
