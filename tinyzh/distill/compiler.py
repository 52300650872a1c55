"""``--compile``: one distillation micro-batch through ``torch.compile`` (inductor's CPU backend).

The unit compiled is :meth:`Phase._terms`: the teacher's forward under ``no_grad``, the student's
forward under autocast, the projections and every loss term, as one graph. AOTAutograd derives the
backward from it, and inductor fuses the element-wise work between the matmuls (softmax, GELU,
LayerNorm, dropout, dtype casts, the losses) into generated C++ loops; the matmuls stay oneDNN/MKL
calls. It pays where that work is a large share of a step: bf16 on CPUs with AMX or AVX-512 bf16.

- Shapes: ``dynamic=True``, so per-batch padding lengths share one graph (inductor may still
  specialise once on a size threshold of a reduction, a recompile the summary counts).
- Cache: inductor's on-disk caches (FX graph, AOTAutograd) live in :func:`cache_dir`
  (``$TORCHINDUCTOR_CACHE_DIR`` when set, else ``~/.cache/tinyzh/inductor``), so a rerun with the
  same shapes and code compiles from cache in a fraction of the time.
- Compiler: inductor builds its kernels with a C++ compiler; :func:`check_compiler` says so up
  front instead of a traceback at the first step.

Usage::

    check_compiler()                     # ConfigError naming --compile when no C++ compiler is found
    use_cache_dir()
    phase.compiled = compile_terms(phase)
    clock = CompileClock(); ...; clock.report()   # {"seconds": 41.2, "graphs": 1, "cache_dir": ...}
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyzh.errors import ConfigError

CACHE_ENV = "TORCHINDUCTOR_CACHE_DIR"


def cache_dir() -> Path:
    """Where inductor keeps compiled graphs: ``$TORCHINDUCTOR_CACHE_DIR``, else tinyzh's user cache."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen and chosen != _torch_default_cache():
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinyzh" / "inductor"


def _torch_default_cache() -> str | None:
    """Inductor writes its /tmp default into the variable once it has used it: that is not a user's choice."""
    try:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir
    except ImportError:
        return None
    return os.path.abspath(default_cache_dir())


def use_cache_dir() -> Path:
    """Point inductor at :func:`cache_dir` (read by inductor on each use) and create it."""
    path = cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    os.environ[CACHE_ENV] = str(path)
    return path


def compiler_names() -> list[str]:
    """The C++ compilers inductor tries, in order (``torch._inductor.config.cpp.cxx``; ``$CXX`` sets it)."""
    from torch._inductor import config

    names = config.cpp.cxx if isinstance(config.cpp.cxx, (list, tuple)) else (config.cpp.cxx,)
    return [n for n in names if n]


def find_compiler() -> str | None:
    """The C++ compiler inductor would use, or None when none of :func:`compiler_names` runs."""
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        return get_cpp_compiler()
    except Exception:  # InvalidCxxCompiler, or a compiler that fails `--version`
        return None


def check_compiler() -> str:
    """The compiler's name; a one-line ConfigError naming ``--compile`` and the fix when there is none."""
    found = find_compiler()
    if found is None:
        names = " or ".join(compiler_names()) or "a C++ compiler"
        raise ConfigError(
            f"--compile: torch.compile's CPU backend (inductor) builds its kernels with a C++ compiler, and "
            f"{names} was not found on PATH; install one (e.g. apt-get install g++, or set CXX to a "
            "compiler) or drop --compile"
        )
    return found


def install_output_hooks(*models: nn.Module) -> None:
    """Install transformers' hidden-state hooks now: installing them at the first call takes a
    ``threading.Lock``, which dynamo cannot trace (a graph break in every forward's first run)."""
    try:
        from transformers import PreTrainedModel
        from transformers.utils.output_capturing import maybe_install_capturing_hooks
    except ImportError:  # an older transformers: no lazy hooks, nothing to install
        return
    for model in models:
        for module in model.modules():
            if isinstance(module, PreTrainedModel):
                maybe_install_capturing_hooks(module)


def compile_terms(phase: Any) -> Callable[..., dict[str, torch.Tensor]]:
    """``phase._terms`` compiled: dynamic shapes, inductor, default mode (no CUDA graphs, no autotuning)."""
    install_output_hooks(phase.teacher, phase.forward_S)
    # inductor imports setuptools, whose distutils shim asserts when the standard library's distutils was
    # imported first (tensorboard and others do): keep the one already loaded
    if sys.version_info < (3, 12):  # 3.12 has no standard-library distutils (and no clash)
        os.environ.setdefault("SETUPTOOLS_USE_DISTUTILS", "stdlib")
        # ... which setuptools then warns about on every run; the choice is deliberate here
        warnings.filterwarnings("ignore", message="Reliance on distutils from stdlib", category=UserWarning)
    return torch.compile(phase._terms, dynamic=True)


class CompileClock:
    """Seconds dynamo + inductor spent compiling, and graphs compiled, since construction.

    Read from dynamo's own timers (``_compile.compile_inner`` covers tracing, AOTAutograd, the
    backward and inductor's C++ builds); a cache hit shows up as a short compile.
    """

    def __init__(self) -> None:
        self._start = self._now()

    @staticmethod
    def _now() -> tuple[float, int]:
        from torch._dynamo import utils

        seconds = sum(utils.compilation_time_metrics.get("_compile.compile_inner", []))
        return seconds, int(utils.counters["stats"].get("unique_graphs", 0))

    def report(self) -> dict[str, Any]:
        seconds, graphs = self._now()
        return {"seconds": round(seconds - self._start[0], 2), "graphs": graphs - self._start[1],
                "cache_dir": os.environ.get(CACHE_ENV, str(cache_dir()))}
