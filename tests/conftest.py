"""Shared fixtures: tiny vocabulary and models built in temp dirs, shared data when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import tiny

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a test that reaches for the hub fails fast, not slowly

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def vocab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only a small ``vocab.txt`` (the offline tokenizer path)."""
    return tiny.write_vocab(tmp_path_factory.mktemp("vocab"))


@pytest.fixture(scope="session")
def tiny_teacher_dir(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> Path:
    """A tiny BertForMaskedLM (4 layers, hidden 64) with tokenizer files."""
    return tiny.save_tiny_bert(tmp_path_factory.mktemp("teacher"), vocab_dir, kind="mlm")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests needing it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (only present on the project's machines)")
    return SHARED_DATA
