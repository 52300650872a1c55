"""Helpers of the side-by-side benchmarks: the machine line, alternating runs, the peer script.

A ratio is only printed when both commands ran on this machine in this run, alternately
(A B A B ...), and it is the ratio of the medians. Each ratio line ends with ``machine_line()``:
the CPU's name, the flags that decide matmul speed, the core count and the load average, since
a ratio means little without them. The peer is TinyBERT's own scripts, driven through
``../shared/bench/tinybert_peer.sh`` on a folder it prepared (``setup``). Usage::

    runs = alternate({"peer": peer_cmd, "tinyzh": tinyzh_cmd}, pairs=2)
    print(ratio_line("pregen", runs["peer"], runs["tinyzh"]))
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PEER_SCRIPT = Path(__file__).resolve().parents[2] / "shared" / "bench" / "tinybert_peer.sh"
# Flags that decide matmul throughput; the line says which of them this CPU has and lacks.
MATMUL_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
NO_PEER = "no ratio measured: pass --peer DIR (a folder prepared by tinybert_peer.sh setup) to run TinyBERT's script beside it"

Run = dict[str, Any]  # {"seconds": wall s, "cpu_s": CPU s, "rss_mb": largest process's peak RSS, ...}

# Runs a command, then prints its wall time, CPU seconds and the peak RSS of its largest process
# (rusage of the waited-for descendants) as one JSON line: whole-process figures for either side.
MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "rc": done.returncode,
                  "stdout": done.stdout[-4000:], "stderr": done.stderr[-4000:]}))
"""


def cpu_info() -> tuple[str, set[str]]:
    """(model name, flags) of this CPU from /proc/cpuinfo; the platform's name and no flags elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or platform.machine(), set()
    name, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not name:
            name = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return name or platform.machine(), flags


def machine_line() -> str:
    """``[AMD EPYC; avx2 fma, no avx512f avx512_bf16 amx_bf16 amx_tile; 2 cores; load 3.1]``."""
    name, flags = cpu_info()
    has = [f for f in MATMUL_FLAGS if f in flags]
    lacks = [f for f in MATMUL_FLAGS if f not in flags]
    parts = " ".join(has) or "none of " + " ".join(MATMUL_FLAGS)
    if has and lacks:
        parts += ", no " + " ".join(lacks)
    return f"[{name}; {parts}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}]"


def measure(command: list[str], cwd: Path | None = None) -> Run:
    """Wall time and largest process's peak RSS of ``command``; exits with its stderr if it fails."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=False,
                          cwd=cwd)
    if done.returncode:
        raise SystemExit(f"could not measure {command[0]}:\n{done.stderr[-2000:]}")
    run = json.loads(done.stdout.strip().splitlines()[-1])
    if run["rc"]:
        raise SystemExit(f"{' '.join(command)} failed (exit {run['rc']}):\n{run['stderr'][-2000:]}")
    return run


def alternate(commands: dict[str, Callable[[], Run]], pairs: int, settle: float = 2.0) -> dict[str, list[Run]]:
    """Run each command once per round, in the order given, ``pairs`` rounds: A B A B ..."""
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for round_ in range(pairs):
        for name, command in commands.items():
            run = command()
            # Flush what the command wrote (TinyBERT's pregen writes ~100 MB of JSON per epoch of the
            # corpora) so that the kernel's writeback does not slow the next command; neither side is
            # charged for it.
            if hasattr(os, "sync"):
                os.sync()
            time.sleep(settle)  # and let the kernel reclaim what it freed before the next one starts
            run["round"] = round_
            run["load"] = os.getloadavg()[0]
            runs[name].append(run)
            print(f"  round {round_ + 1}/{pairs} {name}: {run['seconds']:.2f} s", flush=True)
    return runs


def median(runs: list[Run], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def ratio_line(what: str, peer: list[Run], ours: list[Run], key: str = "seconds", unit: str = "s") -> str:
    """``what: TinyBERT X s, tinyzh Y s (medians of n), ratio Z.ZZx [machine]``; a larger ratio = tinyzh faster.

    Where both sides report CPU seconds, their ratio follows: on a shared machine it moves less than
    the wall-time ratio. The load averages seen after each run are given as a range.
    """
    p, o = median(peer, key), median(ours, key)
    spread = f"{min(r[key] for r in ours):.2f}-{max(r[key] for r in ours):.2f}"
    line = (f"{what}: TinyBERT {p:.2f} {unit}, tinyzh {o:.2f} {unit} (medians of {len(ours)}, tinyzh {spread}), "
            f"ratio {p / o:.2f}x")
    if all("cpu_s" in r for r in peer + ours):
        line += f"; CPU seconds {median(peer, 'cpu_s'):.1f} vs {median(ours, 'cpu_s'):.1f}, " \
                f"{median(peer, 'cpu_s') / median(ours, 'cpu_s'):.2f}x"
    loads = [r["load"] for r in peer + ours if "load" in r]
    if loads:
        line += f"; load {min(loads):.1f}-{max(loads):.1f} during the runs"
    return f"{line} {machine_line()}"


def compile_bytecode(peer: Path) -> str:
    """Byte-compile tinyzh and the peer's scripts, as ``pip install`` would; returns a line saying so.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (this sandbox sets it), Python recompiles every module
    that lacks a ``.pyc`` at each start: tinyzh's ~100 modules in an editable install, the peer's few
    scripts. Compiling both sides once measures the start a user of either would see."""
    import compileall

    package = Path(__file__).resolve().parents[1] / "tinyzh"
    for folder in (package, peer / "TinyBERT"):
        compileall.compile_dir(str(folder), quiet=1)
    return f"bytecode compiled for both sides ({package} and {peer / 'TinyBERT'}), as after pip install"


def check_peer(peer: Path, script: Path) -> None:
    """Stop with the fix when ``peer`` was not prepared by ``script setup`` or the script is missing."""
    if not script.is_file():
        raise SystemExit(f"--peer-script {script} not found; it is ../shared/bench/tinybert_peer.sh beside the checkout")
    if not (peer / "TinyBERT").is_dir():
        raise SystemExit(f"--peer {peer} has no TinyBERT/ folder; prepare it with: bash {script} setup "
                         f"<checkout of huawei-noah/Pretrained-Language-Model>/TinyBERT {peer}")
