"""The shell command a recipe stage amounts to (``tinyzh run --dry-run`` prints them).

Only options that differ from the command's defaults are written, with the flag names the commands
take (``max_steps`` -> ``--max-steps``; a true boolean -> ``--flag``, a false one whose default is
true -> ``--no-flag``).
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

from tinyzh.augment.config import AugmentConfig
from tinyzh.distill.config import DistillConfig
from tinyzh.evaluate.config import EvalConfig
from tinyzh.pregen.config import PregenConfig

# Fields that a command takes under another flag, or not as a flag at all.
RENAMED = {"augmenters": "augmenter"}
NOT_FLAGS = {"extra", "corpus", "models"}
SWITCHES = {("split", "test"): "--allow-unlabeled"}  # a value that a command takes as a switch


def command_line(stage: Any) -> str:
    """``tinyzh <command> ...`` for a stage's config (after the stage's own shell step, if it has one), or a
    note for the recipe's own steps."""
    parts = [getattr(stage, "shell_before", ""), config_command(stage.config, stage.what),
             getattr(stage, "shell_after", "")]
    return " && ".join(part for part in parts if part)


def config_command(config: Any, what: str = "") -> str:
    """``tinyzh <command> ...`` for one command's config."""
    if isinstance(config, PregenConfig):
        return _join(["tinyzh", "pregen", *map(str, config.corpus), *_flags(config)])
    if isinstance(config, DistillConfig):
        return _join(["tinyzh", "distill", *_flags(config, always=("stage", "data", "output"))])
    if isinstance(config, AugmentConfig):
        return _join(["tinyzh", "augment", *_flags(config, always=("task", "input", "output"))])
    if isinstance(config, EvalConfig):
        models = [arg for m in config.models for arg in ("-m", f"{m.name}={m.path}")]
        return _join(["tinyzh", "eval", *models, *_flags(config, always=("data_dir", "output"))])
    return f"(no command: the recipe's own step, {what})"


def _flags(config: Any, always: tuple[str, ...] = ()) -> list[str]:
    args: list[str] = []
    for f in dataclasses.fields(config):
        if f.name in NOT_FLAGS:
            continue
        value = getattr(config, f.name)
        if f.name not in always and value == _default(f):
            continue
        if isinstance(value, str) and (f.name, value) in SWITCHES:
            args.append(SWITCHES[f.name, value])
            continue
        flag = "--" + RENAMED.get(f.name, f.name).replace("_", "-")
        if isinstance(value, bool):
            args.append(flag if value else f"--no-{flag[2:]}")
        elif value is None:
            continue
        elif isinstance(value, (list, tuple)):
            args += [flag, ",".join(map(str, value))]
        else:
            args += [flag, str(value)]
    return args


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _join(args: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in args)
