"""The batch order: deterministic per (seed, epoch), sharded over ranks and accumulation steps, resumable."""

from __future__ import annotations

import pytest

from tinyzh.distill.data import MicroBatchSampler
from tinyzh.errors import ConfigError


def _micro(world: int, rank: int, accum: int, start: int = 0, epoch: int = 0) -> list[list[int]]:
    return list(MicroBatchSampler(50, 8, grad_accum=accum, world=world, rank=rank, seed=3, epoch=epoch,
                                  start_step=start))


def test_ranks_and_accumulation_split_the_same_global_batches() -> None:
    single = _micro(1, 0, 1)
    assert len(single) == 50 // 8 and all(len(b) == 8 for b in single)
    split = _micro(1, 0, 4)
    assert [sum(split[i:i + 4], []) for i in range(0, len(split), 4)] == single
    rank0, rank1 = _micro(2, 0, 2), _micro(2, 1, 2)
    for step in range(len(single)):  # micro-batch a*world + rank of each global batch
        a0, a1 = rank0[2 * step:2 * step + 2], rank1[2 * step:2 * step + 2]
        assert a0[0] + a1[0] + a0[1] + a1[1] == single[step]


def test_order_depends_on_epoch_and_resumes_exactly() -> None:
    assert _micro(1, 0, 1, epoch=0) != _micro(1, 0, 1, epoch=1)
    assert _micro(1, 0, 1) == _micro(1, 0, 1)
    assert _micro(1, 0, 2, start=3) == _micro(1, 0, 2)[6:]
    assert len(MicroBatchSampler(50, 8, grad_accum=2, world=1, rank=0, seed=3, epoch=0, start_step=3)) == 6


def test_batch_must_divide_over_processes_and_accumulation() -> None:
    with pytest.raises(ConfigError, match="divide evenly over 2 process"):
        MicroBatchSampler(50, 6, grad_accum=2, world=2, rank=0, seed=0, epoch=0)
