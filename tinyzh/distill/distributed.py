"""``torch.distributed`` plumbing for ``torchrun --nproc_per_node N -m tinyzh distill ...``.

torchrun sets ``WORLD_SIZE`` / ``RANK`` / ``LOCAL_RANK``; without them everything runs in one process
and these helpers are no-ops. Backend: NCCL on GPUs, gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    world: int = 1
    rank: int = 0
    device: torch.device = torch.device("cpu")
    started_here: bool = False  # we created the process group, so we destroy it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def init_distributed() -> DistEnv:
    """Join the process group torchrun describes (or an existing one); a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world <= 1 and not dist.is_initialized():
        return DistEnv(device=device)
    started = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        started = True
    return DistEnv(dist.get_world_size(), dist.get_rank(), device, started)


def shutdown(env: DistEnv) -> None:
    if env.started_here and dist.is_initialized():
        dist.destroy_process_group()


def mean_over_ranks(values: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """Average a small tensor of logged numbers over all ranks."""
    if env.active:
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values /= env.world
    return values


def gather_objects(obj: Any, env: DistEnv) -> list[Any]:
    """``obj`` of every rank, in rank order (used for per-rank RNG states in checkpoints)."""
    if not env.active:
        return [obj]
    out: list[Any] = [None] * env.world
    dist.all_gather_object(out, obj)
    return out


def barrier(env: DistEnv) -> None:
    if env.active:
        dist.barrier()
