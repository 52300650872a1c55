"""The training loop: AdamW, linear warm-up/decay, clipping, accumulation, DDP, checkpoints, resume.

Read top to bottom: :func:`run_distill` runs one phase (or two for ``--stage task --step both``);
:func:`train_phase` is the loop; each optimizer step runs ``grad_accum`` micro-batches
(:meth:`Phase.loss_terms`), then clips, steps and logs; every ``--save-steps`` it checkpoints.
Usage::

    result = run_distill(DistillConfig(stage="general", data="pregen/", output="student/"))
"""

from __future__ import annotations

import json
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyzh.distill.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    remove_leftovers,
    rng_state,
    save_checkpoint,
    set_rng_state,
    stored_config,
)
from tinyzh.distill.config import DistillConfig
from tinyzh.distill.data import MicroBatchSampler
from tinyzh.distill.distributed import (
    DistEnv,
    barrier,
    gather_objects,
    init_distributed,
    mean_over_ranks,
    shutdown,
)
from tinyzh.distill.evaluate import dev_accuracy
from tinyzh.distill.fused import keep_freed_memory
from tinyzh.distill.models import save_student
from tinyzh.distill.phase import Phase, build_phase, check_steps
from tinyzh.distill.progress import MetricsLog, group_terms
from tinyzh.distill.teacher_cache import cache_teacher_logits
from tinyzh.errors import ConfigError
from tinyzh.io import remove_temp_files, write_json
from tinyzh.lock import output_lock
from tinyzh.report import Reporter

SUMMARY = "distill_summary.json"


@dataclass
class PhaseResult:
    """What one phase did; written to ``distill_summary.json`` and shown at the end."""

    phase: str
    output: str
    steps: int
    total_steps: int
    finished: bool
    resumed_from: int | None = None
    final_loss: float | None = None
    final_terms: dict[str, float] = field(default_factory=dict)
    samples_per_s: float = 0.0
    seconds: float = 0.0
    best_dev_accuracy: float | None = None
    layer_map: list[tuple[int, int]] = field(default_factory=list)
    unlabelled_rows: int = 0  # task rows without a gold label (soft targets only)
    teacher_logits_cache: dict[str, Any] | None = None  # prediction step: {"computed", "seconds"}
    init_from_teacher: dict[str, Any] | None = None  # --init-from-teacher: copied / cut / kept
    compile: dict[str, Any] | None = None  # --compile: {"seconds", "graphs", "cache_dir"} of this run
    teacher_fused: int = 0  # teacher blocks fused by oneDNN (bf16 on CPUs with AMX or AVX-512 bf16)


@dataclass
class Optim:
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    params: list[nn.Parameter]


def run_distill(config: DistillConfig, reporter: Reporter | None = None) -> list[PhaseResult]:
    """Run ``config``; returns one result per phase (rank 0's view under torchrun). Progress and every
    logged row go to ``reporter`` on rank 0 only."""
    env = init_distributed()
    reporter = reporter if reporter is not None and env.is_main else Reporter()
    try:
        with output_lock(config.output, "distill", enabled=env.is_main):  # one owner: rank 0
            return _run_phases(config, env, reporter)
    finally:
        shutdown(env)


def _run_phases(config: DistillConfig, env: DistEnv, reporter: Reporter) -> list[PhaseResult]:
    if env.device.type == "cpu":  # large activations: reuse freed heap instead of faulting in fresh pages
        keep_freed_memory()
    if config.compile:
        _prepare_compile(env, reporter)
    if config.stage == "general":
        return [run_phase(config, "general", config.student, Path(config.output), env, reporter)]
    names = ["intermediate", "prediction"] if config.step == "both" else [config.step]
    results, student = [], config.student
    for name in names:
        output = Path(config.output) / "intermediate" if name == "intermediate" and len(names) == 2 else Path(config.output)
        results.append(run_phase(config, name, student, output, env, reporter))
        if not results[-1].finished:
            break
        student = str(output)
    return results


def _prepare_compile(env: DistEnv, reporter: Reporter) -> None:
    """--compile: refused under torchrun, needs a C++ compiler (checked before any model loads), and
    points inductor's on-disk cache at tinyzh's."""
    from tinyzh.distill.compiler import check_compiler, use_cache_dir

    if env.active:
        raise ConfigError(f"--compile runs in one process only, and torchrun started {env.world} processes; "
                          "drop --compile or run a single process")
    compiler = check_compiler()
    reporter.message(f"--compile: inductor builds its kernels with {compiler}; compiled graphs are cached in "
                     f"{use_cache_dir()} (set TORCHINDUCTOR_CACHE_DIR to move it)")


def run_phase(config: DistillConfig, name: str, student_spec: str, output: Path, env: DistEnv,
              reporter: Reporter | None = None) -> PhaseResult:
    done = _finished_summary(output, config, name)
    if done is not None:
        return done
    phase = build_phase(config, name, student_spec, env)
    if name == "prediction" and config.cache_teacher_logits:
        phase.cache_report = cache_teacher_logits(phase, output)
    return train_phase(phase, output, reporter)


def _finished_summary(output: Path, config: DistillConfig, name: str) -> PhaseResult | None:
    """A phase of ``--step both`` that already finished with this config is not run again."""
    path = output / SUMMARY
    if config.resume is False or not path.exists() or name == "general":
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stored = json.loads((output / "distill_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # damaged by a kill during the final save: resume from the last checkpoint, rewrite it
    if not isinstance(data, dict) or not isinstance(stored, dict):
        return None
    if data.get("finished") and data.get("phase") == name and not config.differences(stored, output, name):
        return PhaseResult(**{k: v for k, v in data.items() if k in PhaseResult.__dataclass_fields__})
    return None


def build_optimizer(phase: Phase, total: int) -> Optim:
    """AdamW (no decay on biases and LayerNorm) + linear warm-up then linear decay to 0."""
    from transformers import get_linear_schedule_with_warmup

    config = phase.config
    named = [(n, p) for n, p in phase.forward_S.named_parameters() if p.requires_grad]
    no_decay = [p for n, p in named if n.endswith("bias") or "LayerNorm" in n]
    decay = [p for n, p in named if not (n.endswith("bias") or "LayerNorm" in n)]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    lr = config.learning_rate(phase.name)
    optimizer = torch.optim.AdamW(groups, lr=lr, fused=True)  # one kernel per tensor list, CPU too
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup * total), total)
    scaler = torch.amp.GradScaler(phase.env.device.type, enabled=phase.precision.needs_scaler)
    return Optim(optimizer, scheduler, scaler, [p for _, p in named])


def _wrap(phase: Phase) -> nn.Module:
    """Only the student (+ projections) goes into DDP; the teacher stays a plain module on each rank."""
    if not phase.env.active:
        return phase.forward_S
    from torch.nn.parallel import DistributedDataParallel

    ids = [phase.env.device.index] if phase.env.device.type == "cuda" else None
    # Unused: the pooler / MLM transform of the student, which no distillation loss reaches.
    return DistributedDataParallel(phase.forward_S, device_ids=ids, find_unused_parameters=True)


def _resume(phase: Phase, output: Path, optim: Optim) -> tuple[int, float | None, int | None, dict[str, Any]]:
    """(global step, best dev accuracy, resumed-from step, last logged loss) after loading the latest
    checkpoint, if any."""
    config, root = phase.config, output / "checkpoints"
    if config.resume is False:
        if phase.env.is_main and root.exists():
            shutil.rmtree(root)
        barrier(phase.env)
        return 0, None, None, {}
    if phase.env.is_main:
        remove_leftovers(root)
        remove_temp_files(output)  # of the summary, config and metrics log
    path = latest_checkpoint(root)
    if path is None:
        if config.resume:
            raise ConfigError(f"--resume: no checkpoint under {root}; run without --resume to start")
        return 0, None, None, {}
    diff = config.differences(stored_config(path), output, phase.name)
    if diff:
        raise ConfigError(
            f"{path} was written with different options ({', '.join('--' + d.replace('_', '-') for d in diff)}); "
            "rerun with the same options, pass --no-resume to start over, or use another --output"
        )
    state = load_checkpoint(path, phase.student, phase.projections)
    optim.optimizer.load_state_dict(state["optimizer"])
    optim.scheduler.load_state_dict(state["scheduler"])
    optim.scaler.load_state_dict(state["scaler"])
    rngs = state["rng"]
    set_rng_state(rngs[phase.env.rank] if len(rngs) == phase.env.world else rngs[0])
    last = {"final_loss": state.get("final_loss"), "final_terms": dict(state.get("final_terms") or {})}
    return int(state["step"]), state.get("best_dev"), int(state["step"]), last


def _checkpoint(phase: Phase, output: Path, optim: Optim, step: int, best_dev: float | None,
                result: PhaseResult) -> None:
    rngs = gather_objects(rng_state(), phase.env)  # collective: every rank calls it
    if phase.env.is_main:
        # The last logged loss travels with the checkpoint, so a run resumed after it (or a rerun of a
        # finished run) still reports it in distill_summary.json.
        state = {"step": step, "best_dev": best_dev, "optimizer": optim.optimizer.state_dict(),
                 "scheduler": optim.scheduler.state_dict(), "scaler": optim.scaler.state_dict(), "rng": rngs,
                 "final_loss": result.final_loss, "final_terms": dict(result.final_terms)}
        save_checkpoint(output / "checkpoints", step, phase.student, phase.projections, state,
                        phase.config.stored_dict(output))
    barrier(phase.env)


def optimizer_step(phase: Phase, model: nn.Module, optim: Optim, batches: list[dict]) -> dict[str, torch.Tensor]:
    """Forward/backward over the micro-batches of one step, then clip and step.

    Returns each loss term averaged over the micro-batches (0-dim tensors: no sync with the device).
    """
    accum = len(batches)
    sums: dict[str, Any] = {}
    for a, batch in enumerate(batches):
        # Skip DDP's gradient all-reduce on all but the last micro-batch.
        sync = nullcontext() if a == accum - 1 or not phase.env.active else model.no_sync()  # type: ignore[operator]
        with sync:
            terms = phase.loss_terms(batch, model)
            loss = sum(terms.values())
            optim.scaler.scale(loss / accum).backward()
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + value.detach().float() / accum
    optim.scaler.unscale_(optim.optimizer)
    if phase.config.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(optim.params, phase.config.max_grad_norm)
    optim.scaler.step(optim.optimizer)
    optim.scaler.update()
    optim.scheduler.step()
    optim.optimizer.zero_grad(set_to_none=True)
    return sums


def _loader(phase: Phase, epoch: int, start: int) -> Any:
    config, env = phase.config, phase.env
    if hasattr(phase.data.dataset, "set_epoch"):  # pregen's dynamic masking draws new masks per epoch
        phase.data.dataset.set_epoch(epoch)
    sampler = MicroBatchSampler(len(phase.data), config.batch_size, grad_accum=config.grad_accum, world=env.world,
                                rank=env.rank, seed=config.seed, epoch=epoch, start_step=start)
    # A generator of its own: creating the iterator must not draw from the global RNG (dropout's),
    # or a resumed run would see different dropout masks than an uninterrupted one.
    return torch.utils.data.DataLoader(
        phase.data.dataset, batch_sampler=sampler, collate_fn=phase.data.collate, num_workers=config.workers,
        generator=torch.Generator().manual_seed(config.seed + epoch), pin_memory=env.device.type == "cuda",
    )


def train_phase(phase: Phase, output: Path, reporter: Reporter | None = None) -> PhaseResult:
    """The loop. Returns when the steps are done or ``--stop-after`` steps ran in this call."""
    config, env = phase.config, phase.env
    per_epoch = check_steps(phase)
    epochs = config.phase_epochs(phase.name)
    total = min(config.max_steps, epochs * per_epoch) if config.max_steps else epochs * per_epoch
    optim = build_optimizer(phase, total)
    step, best_dev, resumed, last = _resume(phase, output, optim)
    if resumed is None:  # dropout RNG: distinct per rank, restored from the checkpoint on resume
        torch.manual_seed(config.seed + env.rank)
    model = _wrap(phase)
    reporter = reporter if reporter is not None and env.is_main else Reporter()
    log = MetricsLog(output / "metrics.jsonl", env.is_main)
    log.keep_until(step)
    result = PhaseResult(phase.name, str(output), step, total, False, resumed, layer_map=phase.layer_map,
                         unlabelled_rows=phase.data.unlabelled, teacher_logits_cache=phase.cache_report,
                         init_from_teacher=phase.init_report, teacher_fused=phase.teacher_fused, **last)
    clock = _compile_clock(phase)
    started, window_start, window_steps, ran = time.perf_counter(), time.perf_counter(), 0, 0
    bar = f"distill {phase.name}"
    reporter.progress(bar, step, total)
    while step < total and (config.stop_after is None or ran < config.stop_after):
        epoch, start = divmod(step, per_epoch)
        batches = iter(_loader(phase, epoch, start))
        while step < total and start < per_epoch and (config.stop_after is None or ran < config.stop_after):
            micro = [next(batches) for _ in range(config.grad_accum)]
            terms = optimizer_step(phase, model, optim, micro)
            step, start, ran, window_steps = step + 1, start + 1, ran + 1, window_steps + 1
            if clock is not None and ran == 1:
                _report_compile(reporter, phase, clock.report())
            if step % config.logging_steps == 0 or step == total:
                speed = window_steps * config.batch_size / max(time.perf_counter() - window_start, 1e-9)
                _log(log, reporter, phase, optim, terms, step, per_epoch, speed, result)
                window_start, window_steps = time.perf_counter(), 0
            else:
                reporter.progress(bar, step, total)
            if step % config.save_steps == 0 or step == total:
                best_dev = _select(phase, output, step, best_dev, result, reporter)
                _checkpoint(phase, output, optim, step, best_dev, result)
        if start >= per_epoch:
            best_dev = _select(phase, output, step, best_dev, result, reporter)
    if step % config.save_steps and step != total:  # stopped early: keep the position
        _checkpoint(phase, output, optim, step, best_dev, result)
    result.steps, result.finished = step, step >= total
    result.seconds = time.perf_counter() - started
    result.samples_per_s = ran * config.batch_size / max(result.seconds, 1e-9)
    result.best_dev_accuracy = best_dev
    result.compile = clock.report() if clock is not None else None
    if result.finished and env.is_main:
        _save_final(phase, output, result)
    barrier(env)
    return result


def _compile_clock(phase: Phase) -> Any:
    if phase.compiled is None:
        return None
    from tinyzh.distill.compiler import CompileClock

    return CompileClock()


def _report_compile(reporter: Reporter, phase: Phase, report: dict[str, Any]) -> None:
    """After the first step: how long compiling took (a cache hit is a short one)."""
    reporter.message(f"distill {phase.name}: --compile spent {report['seconds']:.1f} s compiling "
                     f"{report['graphs']} graph(s) in the first step (cache {report['cache_dir']})")


def _log(log: MetricsLog, reporter: Reporter, phase: Phase, optim: Optim, terms: dict[str, Any], step: int,
         per_epoch: int, speed: float, result: PhaseResult) -> None:
    names = sorted(terms)
    values = mean_over_ranks(torch.stack([terms[k] for k in names]), phase.env).tolist()
    averaged = dict(zip(names, values, strict=True))
    loss = float(sum(values))
    row = {"phase": phase.name, "step": step, "epoch": round(step / per_epoch, 4), "loss": loss, **averaged,
           "lr": optim.scheduler.get_last_lr()[0], "samples_per_s": round(speed, 3)}
    log.write(row)
    reporter.metrics(phase.name, step, {k: v for k, v in row.items() if k not in ("phase", "step")})
    info = {"ep": round(step / per_epoch, 2), "loss": loss, **group_terms(averaged), "samples/s": round(speed, 1)}
    reporter.progress(f"distill {phase.name}", step, result.total_steps, info)
    result.final_loss, result.final_terms = loss, averaged


def _select(phase: Phase, output: Path, step: int, best: float | None, result: PhaseResult,
            reporter: Reporter) -> float | None:
    """Prediction step with a dev set: evaluate, and save the student to ``output`` when it is the best yet."""
    if phase.name != "prediction" or phase.data.dev is None:
        return best
    if not phase.env.is_main:
        return best
    accuracy = dev_accuracy(phase.student, phase.data.dev, phase.env.device, phase.config.batch_size)
    reporter.metrics(phase.name, step, {"dev_accuracy": accuracy})
    if best is None or accuracy > best:
        best = accuracy
        save_student(phase.student, phase.tokenizer, output, {"distill_config.json": phase.config.stored_dict(output)})
    return best


def _save_final(phase: Phase, output: Path, result: PhaseResult) -> None:
    """The HF checkpoint (unless dev selection already wrote the best one) plus config and summary."""
    if not (phase.name == "prediction" and phase.data.dev is not None):
        save_student(phase.student, phase.tokenizer, output, {})
    extra = {"distill_config.json": phase.config.stored_dict(output), SUMMARY: asdict(result)}
    for name, data in extra.items():  # the summary last: it marks the phase as finished
        write_json(output / name, data)
