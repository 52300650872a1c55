"""Fixtures of the eval tests: one torch thread, a tiny BERT encoder (no head) with tokenizer files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests import tiny


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and the machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> Path:
    """A BertModel (2 layers, hidden 32): eval gives it a fresh classification head per task."""
    return tiny.save_tiny_bert(tmp_path_factory.mktemp("base"), vocab_dir, kind="base", layers=2, hidden=32)
