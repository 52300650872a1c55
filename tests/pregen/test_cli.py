"""``tinyzh pregen`` through the real CLI app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tests.pregen import helpers
from tinyzh.cli import app
from tinyzh.pregen import PregenConfig, run_pregen


def test_pregen_writes_shards_and_prints_a_summary(vocab_dir: Path, tmp_path: Path) -> None:
    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(30, seed=4))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["pregen", str(corpus), "--output", str(out), "--tokenizer", str(vocab_dir),
                                      "--workers", "1", "--epochs", "2", "--max-seq-len", "64", "--seed", "3",
                                      "--pair-task", "sop", "--quiet"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["epochs"] == 2 and manifest["seed"] == 3 and manifest["pair_task"] == "sop"
    assert f"{manifest['num_instances']:,} instances" in result.output and "instances/s" in result.output
    assert "bad input: 0 invalid UTF-8" in result.output


def test_bad_flag_value_is_one_line_and_exit_1(vocab_dir: Path, tmp_path: Path) -> None:
    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(3))
    result = CliRunner().invoke(app, ["pregen", str(corpus), "-o", str(tmp_path / "o"), "--pair-task", "next"])
    assert result.exit_code == 1
    assert "--pair-task 'next' is not valid" in result.output and "Traceback" not in result.output


def test_too_small_corpus_is_reported_with_the_file(vocab_dir: Path, tmp_path: Path) -> None:
    corpus = helpers.write_corpus(tmp_path / "tiny.txt", [["只有一个文档。"]])
    result = CliRunner().invoke(app, ["pregen", str(corpus), "-o", str(tmp_path / "o"), "--tokenizer", str(vocab_dir),
                                      "--workers", "1", "--quiet"])
    assert result.exit_code == 1 and "tiny.txt" in result.output and "at least 2" in result.output


def test_default_segmenter_fallback_is_noted(vocab_dir: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from tinyzh.tokenizers import segment

    monkeypatch.setattr(segment, "_rjieba_import_error", lambda: "No module named 'rjieba'")
    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(10, seed=1))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["pregen", str(corpus), "-o", str(out), "--tokenizer", str(vocab_dir),
                                      "--workers", "1", "--max-seq-len", "64", "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["tokenizer"]["segmenter"] == "jieba"
    assert "note" in result.output and "rjieba cannot be imported" in result.output


def test_pregen_process_ends_quickly_with_everything_written(vocab_dir: Path, tmp_path: Path) -> None:
    """``python -m tinyzh pregen`` skips the interpreter's teardown after a success: its summary is
    still printed and its shards and manifest are those of an in-process run; a failure exits 1 as
    usual, with its one-line error."""
    corpus = helpers.write_corpus(tmp_path / "c.txt", helpers.documents(40, seed=5))
    args = ["--tokenizer", str(vocab_dir), "--workers", "2", "--epochs", "2", "--max-seq-len", "64",
            "--chunk-documents", "10"]
    done = subprocess.run([sys.executable, "-m", "tinyzh", "pregen", str(corpus), "-o", str(tmp_path / "cli"), *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "cli" / "manifest.json").read_text(encoding="utf-8"))
    assert f"{manifest['num_instances']:,} instances" in done.stdout + done.stderr  # flushed before the exit
    expected = run_pregen(PregenConfig(corpus=[corpus], output=tmp_path / "lib", tokenizer=str(vocab_dir),
                                       workers=1, epochs=2, max_seq_len=64, chunk_documents=10))
    assert manifest["shards"] == expected["shards"]
    assert helpers.shard_bytes(tmp_path / "cli") == helpers.shard_bytes(tmp_path / "lib")
    failed = subprocess.run([sys.executable, "-m", "tinyzh", "pregen", str(tmp_path / "missing.txt"), "-o",
                             str(tmp_path / "x"), *args], capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "missing.txt" in failed.stdout + failed.stderr
    assert "Traceback" not in failed.stdout + failed.stderr
