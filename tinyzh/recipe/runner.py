"""``run_recipe``: run a recipe's stages in order, each skipped when its output is up to date.

A stage's fingerprint hashes its settings, the size and time of the user files it reads, and the
fingerprint of the stage before it, so a changed setting reruns that stage and every one after it.
``OUTPUT/recipe_state.json`` records each finished stage; a stage that was interrupted resumes (each
command resumes on its own), one whose settings changed starts over. At the end, ``results.json``
holds every stage's outcome and the scored models; the recipe itself is saved beside it. Usage::

    summary = run_recipe(load_recipe("demo"), reporter, from_stage="augment")
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyzh.errors import ConfigError
from tinyzh.hf import quiet_transformers
from tinyzh.io import json_text, write_atomic, write_json
from tinyzh.lock import output_lock
from tinyzh.recipe.commands import command_line
from tinyzh.recipe.schema import STAGES, Recipe
from tinyzh.recipe.stages import StagePlan, build_plans
from tinyzh.report import Reporter, Reporters, file_reporters

STATE = "recipe_state.json"
RESULTS = "results.json"
SAVED = ("recipe.toml", "recipe.json")  # the file as given, and as resolved (extends and --set applied)


@dataclass
class Step:
    """What the runner does with one stage, and why."""

    name: str
    action: str  # run | resume | skip
    reason: str
    plan: StagePlan
    fingerprint: str
    upstream: str  # the fingerprint of the stage before (empty for the first)
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)

    def command(self) -> str:
        return command_line(self.plan)


@dataclass
class RunSummary:
    recipe: Recipe
    output: Path
    steps: list[Step]
    models: list[dict[str, Any]] = field(default_factory=list)  # the eval stage's rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe.get("name", self.recipe.path.stem), "output": str(self.output),
            "stages": [{"stage": s.name, "action": s.action, "reason": s.reason, "seconds": round(s.seconds, 2),
                        "outputs": [str(p) for p in s.plan.outputs], "summary": s.summary} for s in self.steps],
            "models": self.models,
        }


def plan(recipe: Recipe, *, from_stage: str | None = None, only: str | None = None) -> list[Step]:
    """Every stage with its action; a stage before ``from_stage`` (or other than ``only``) that is not
    up to date is an error, since the later ones would read a stale or missing output."""
    plans = build_plans(recipe)
    names = [p.name for p in plans]
    for option, value in (("--from", from_stage), ("--only", only)):
        if value is not None and value not in names:
            raise ConfigError(f"{option} {value!r}: this recipe runs {', '.join(names)} (stages: {', '.join(STAGES)})")
    state = read_state(Path(recipe.get("output")))
    steps, previous, changed_before = [], "", None
    for stage in plans:
        upstream, fingerprint = previous, _fingerprint(stage, previous)
        previous = fingerprint
        stored = state.get(stage.name) or {}
        action, reason = _action(stage, stored, fingerprint, changed_before, upstream)
        if action != "skip" and changed_before is None:
            changed_before = stage.name
        steps.append(Step(stage.name, action, reason, stage, fingerprint, upstream))
    return _select(steps, from_stage, only)


def _action(stage: StagePlan, stored: dict[str, Any], fingerprint: str, changed_before: str | None,
            upstream: str) -> tuple[str, str]:
    if not stored:
        return "run", "not run yet"
    if stored.get("fingerprint") != fingerprint:
        diff = _diff(stored.get("settings") or {}, stage.settings)
        if diff:
            return "run", "settings changed: " + ", ".join(diff)
        if changed_before:
            return "run", f"an earlier stage ({changed_before}) reruns"
        if stored.get("upstream") != upstream:
            return "run", "an earlier stage was rerun since this one ran"
        return "run", "its input files changed"
    if not stored.get("complete"):
        return "resume", "interrupted earlier: resumes"
    if not all(p.exists() for p in stage.outputs):
        return "run", "its output is missing"
    return "skip", "up to date"


def _diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys if _norm(old.get(k)) != _norm(new.get(k))]


def _norm(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _select(steps: list[Step], from_stage: str | None, only: str | None) -> list[Step]:
    if from_stage is None and only is None:
        return steps
    first = next(i for i, s in enumerate(steps) if s.name == (from_stage or only))
    for step in steps[:first]:
        if step.action != "skip":
            option = "--from" if from_stage else "--only"
            raise ConfigError(f"{option} {steps[first].name}: the earlier stage {step.name} is not up to date "
                              f"({step.reason}); run the recipe without {option}, or {option} {step.name}")
    chosen = steps[first:] if from_stage else [steps[first]]
    for step in chosen:
        if step.action == "skip":
            step.action, step.reason = "run", f"{'--from' if from_stage else '--only'} {steps[first].name}"
    return chosen


def _fingerprint(stage: StagePlan, previous: str) -> str:
    files = {str(p): [p.stat().st_size, p.stat().st_mtime_ns] for p in stage.inputs if p.is_file()}
    blob = _norm({"settings": stage.settings, "files": files, "previous": previous})
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def read_state(output: Path) -> dict[str, Any]:
    path = output / STATE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("stages", {}) if isinstance(data, dict) else {}


def prepare_output(recipe: Recipe, overwrite: bool = False) -> Path:
    """The run's folder: new, empty, or holding an earlier run (removed first with ``overwrite``)."""
    out = Path(recipe.get("output"))
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output {out} is a file; give a folder")
    if out.exists() and any(out.iterdir()):
        if not (out / STATE).is_file() and not (out / SAVED[1]).is_file():
            raise ConfigError(f"output {out} exists and is not the folder of a tinyzh run; choose a new folder")
        if overwrite:
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_recipe(recipe: Recipe, reporter: Reporter | None = None, *, from_stage: str | None = None,
               only: str | None = None, overwrite: bool = False) -> RunSummary:
    """Run the planned stages; returns what each did and the scored models (also in results.json)."""
    reporter = reporter or Reporter()
    plan(recipe, from_stage=from_stage, only=only)  # every recipe error before anything is written
    out = prepare_output(recipe, overwrite)
    with output_lock(out, "run"), _threads(recipe.get("threads")):
        steps = plan(recipe, from_stage=from_stage, only=only)  # again: under the lock, after --overwrite
        _save_recipe(recipe, out)
        _announce(steps, reporter)
        state = read_state(out)
        for step in steps:
            if step.action == "skip":
                step.summary = (state.get(step.name) or {}).get("summary", {})
                continue
            _run_step(step, out, state, reporter, recipe.get("report_to"))
        summary = RunSummary(recipe, out, steps, _models(steps, state))
        write_json(out / RESULTS, summary.to_dict())
    return summary


@contextmanager
def _threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads for the whole run (``threads``); the models of a demo are tiny, so 1 can be fastest."""
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _announce(steps: list[Step], reporter: Reporter) -> None:
    reruns = [s for s in steps if s.action == "run" and s.reason.startswith("settings changed")]
    if reruns:
        after = len([s for s in steps if s.action == "run"]) - 1
        also = f"; it and the {after} stage(s) after it rerun" if after else "; it reruns"
        reporter.message(f"{reruns[0].name}: {reruns[0].reason}{also}")
    for step in steps:
        if step.action == "skip":
            reporter.message(f"{step.name}: up to date, skipped")


def _run_step(step: Step, out: Path, state: dict[str, Any], reporter: Reporter, report_to: str | None) -> None:
    if step.action == "run":  # new settings (or --from): start over, not on top of another run's files
        for path in step.plan.outputs:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    reporter.message(f"{step.name}: {step.plan.what}" + (" (resuming)" if step.action == "resume" else ""))
    state[step.name] = {"fingerprint": step.fingerprint, "upstream": step.upstream, "settings": step.plan.settings,
                        "complete": False}
    _write_state(out, state)
    start = time.perf_counter()
    files = file_reporters(report_to, out / "tensorboard", step.name)  # OUTPUT/tensorboard/<stage>
    try:
        with quiet_transformers():
            step.summary = step.plan.run(Reporters([reporter, *files])) or {}
    finally:
        for file in files:
            file.close()
    step.seconds = time.perf_counter() - start
    state[step.name].update(complete=True, seconds=round(step.seconds, 2), summary=step.summary)
    _write_state(out, state)


def _write_state(out: Path, state: dict[str, Any]) -> None:
    write_json(out / STATE, {"stages": state})


def _models(steps: list[Step], state: dict[str, Any]) -> list[dict[str, Any]]:
    for step in steps:
        if step.name == "eval":
            return list(step.summary.get("models", []))
    return list(((state.get("eval") or {}).get("summary") or {}).get("models", []))


def _save_recipe(recipe: Recipe, out: Path) -> None:
    write_atomic(out / SAVED[0], recipe.texts.get(str(recipe.path), ""))
    write_atomic(out / SAVED[1], json_text(recipe.to_dict()))
