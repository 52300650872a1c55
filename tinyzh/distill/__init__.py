"""``tinyzh distill``: TinyBERT two-stage distillation (Jiao et al. 2020), general and task-specific.

Modules, in the order a step uses them: ``config`` (options) -> ``phase`` (load teacher, student,
data; ``models``, ``data``, ``matches``) -> ``wrappers`` (forward passes; ``adaptor`` captures
attention scores) -> ``losses`` -> ``trainer`` (optimizer, loop, ``checkpoint``, ``distributed``,
``progress``: metrics.jsonl; progress and metrics go to a ``tinyzh.report.Reporter``). Usage::

    from tinyzh.distill import DistillConfig, run_distill
    results = run_distill(DistillConfig(stage="general", data="pregen/", output="student/"))
"""

from __future__ import annotations

from typing import Any

from tinyzh.distill.config import DistillConfig

__all__ = ["DistillConfig", "run_distill"]


def __getattr__(name: str) -> Any:  # the trainer pulls in torch + transformers; the config does not
    if name == "run_distill":
        from tinyzh.distill.trainer import run_distill

        return run_distill
    raise AttributeError(f"module 'tinyzh.distill' has no attribute {name!r}")
