"""Latency measured side by side: every variant runs the same input in turn, inside one loop.

On a shared or throttling CPU, timing variant A for a minute and then variant B compares two
different machines; alternating within each round gives both the same background load, so the
ratio of medians is the figure to trust. Usage::

    medians = side_by_side({"pytorch": module, "onnx": runner}, [batch] * 30, warmup=3)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

Forward = Callable[..., object]
Batch = tuple[torch.Tensor, ...]  # (input_ids, attention_mask, token_type_ids), each (B, T)


def side_by_side(
    forwards: Mapping[str, Forward], batches: Sequence[Batch], warmup: int = 0
) -> dict[str, float]:
    """Median milliseconds per call of each forward over ``batches`` (after ``warmup`` untimed rounds)."""
    times: dict[str, list[float]] = {name: [] for name in forwards}
    with torch.no_grad():
        for i in range(warmup):
            for forward in forwards.values():
                forward(*batches[i % len(batches)])
        for batch in batches:
            for name, forward in forwards.items():
                start = time.perf_counter()
                forward(*batch)
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def side_by_side_calls(calls: Mapping[Any, Sequence[Callable[[], object]]]) -> dict[Any, float]:
    """Like :func:`side_by_side` for prepared zero-argument calls: ``calls[name][i]`` is round i."""
    rounds = min(len(c) for c in calls.values())
    times: dict[Any, list[float]] = {name: [] for name in calls}
    with torch.no_grad():
        for i in range(rounds):
            for name, row in calls.items():
                start = time.perf_counter()
                row[i]()
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


def cpu_info() -> dict[str, object]:
    """The CPU's model name and the flags int8 speed depends on (VNNI, AMX), from /proc/cpuinfo."""
    import platform

    info: dict[str, object] = {"model": platform.processor() or platform.machine(), "flags": []}
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            info["model"] = value.strip()
        elif key.strip() == "flags":
            present = set(value.split())
            info["flags"] = [flag for flag in CPU_FLAGS if flag in present]
            break
    return info
