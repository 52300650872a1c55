"""Fixtures of the quality benchmark's tests: one tiny run with a stand-in for the shared e5, shared by
every test module here (package scope: the run takes ~15 s)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import quality  # noqa: E402
from quality_setup import PRETRAINED, write_synthetic_data  # noqa: E402


@pytest.fixture(scope="package")
def data_with_e5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic data plus a tiny random stand-in for the shared e5 where ``--teacher auto`` looks:
    a SentencePiece tokenizer (pad id 1), a ``BertModel`` of 2 x 48 with e5's 12 heads, no MLM head."""
    from tests.tiny import save_tiny_model, write_spm_tokenizer

    data = write_synthetic_data(tmp_path_factory.mktemp("quality-data") / "data")
    spm = write_spm_tokenizer(data.parent / "spm")
    save_tiny_model(data / PRETRAINED, spm, layers=2, hidden=48, heads=12, max_len=64)
    return data


@pytest.fixture(scope="package")
def tiny_run(data_with_e5: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``--size tiny`` with the e5 stand-in, all three tasks, seed 0: its results folder (``../work`` beside)."""
    out = tmp_path_factory.mktemp("quality")
    argv = ["--size", "tiny", "--data", str(data_with_e5), "--work", str(out / "work"), "--results",
            str(out / "results"), "--threads", "1"]  # fmt: skip
    assert quality.main(argv) == 0
    return out / "results"
