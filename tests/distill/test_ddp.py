"""Data parallel: ``torchrun --nproc_per_node 2`` (gloo, CPU) follows the 1-process loss trajectory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.distill.conftest import general_config, read_metrics
from tinyzh.distill import run_distill


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one_with_the_same_global_batch(distill_root: dict[str, Path], tmp_path: Path) -> None:
    steps = 6
    # One process, global batch 8 as 2 micro-batches of 4 ...
    single = tmp_path / "single"
    run_distill(general_config(distill_root, single, batch_size=8, grad_accum=2, max_steps=steps))
    # ... and two processes with one micro-batch of 4 each: the same micro-batches, the same global batch.
    ddp = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
        "--master_port", str(_free_port()), "-m", "tinyzh", "distill", "--stage", "general",
        "--data", str(distill_root["pregen"]), "--output", str(ddp), "--teacher", str(distill_root["teacher"]),
        "--student", str(distill_root["student"]), "--batch-size", "8", "--max-steps", str(steps),
        "--logging-steps", "1", "--save-steps", "3", "--workers", "0", "--lr", "1e-3", "--seed", "7", "--no-progress",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]

    one, two = read_metrics(single), read_metrics(ddp)
    assert [r["step"] for r in two] == list(range(1, steps + 1))  # rank 0 alone wrote metrics
    for a, b in zip(one, two, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4, abs=1e-6)
        assert b["attention_2"] == pytest.approx(a["attention_2"], rel=1e-4, abs=1e-7)
    w1, w2 = load_file(single / "model.safetensors"), load_file(ddp / "model.safetensors")
    for key in w1:
        assert torch.allclose(w1[key], w2[key], atol=1e-5), key
    assert sorted(p.name for p in (ddp / "checkpoints").iterdir()) == ["latest.json", "step-000003", "step-000006"]
