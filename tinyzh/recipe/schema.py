"""Reading a recipe: TOML in, a checked :class:`Recipe` out, every error naming the file, key and line.

A recipe has top-level keys shared by the stages (``TOP_KEYS``) and one table per stage it runs, in
``STAGES`` order; a stage table's keys are the flags of its command with ``-`` written ``_``
(``[distill_general] max_steps = 200`` is ``tinyzh distill --max-steps 200``). Keys the runner wires
between stages (each stage's ``output``, the distillation ``teacher`` and ``data``…) are not allowed.
``extends = "demo"`` (a bundled name or a path relative to the file) starts from another recipe and
overrides it key by key; ``enabled = false`` in a stage table drops a stage the parent runs. Usage::

    recipe = load_recipe("my.toml", overrides=["seed=1", "pregen.epochs=2"])
    recipe.stage("pregen")      # {"epochs": 2, ...}
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinyzh.config import BertShape
from tinyzh.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package
    import tomli as tomllib

STAGES = ("data", "vocab", "pregen", "pretrain", "finetune", "distill_general", "augment", "distill_task", "eval")
TOP_KEYS = {
    "name": "a short name, shown in the summary",
    "description": "what the recipe does",
    "extends": "a bundled recipe or a file this one starts from",
    "output": "the run's folder; every stage writes a subfolder of it",
    "seed": "the seed of every stage",
    "teacher": "hub name or directory of the teacher (replaced by [pretrain]'s output when that stage runs)",
    "task_teacher": "a teacher already fine-tuned on the task, for distill_task and eval when [finetune] does not "
                    "run (the general stages keep the teacher)",
    "student": "a preset (tinybert-4), a config.json or checkpoint directory, or a table with layers, hidden, "
               "heads, intermediate",
    "tokenizer": "the tokenizer of pregen (default: the teacher's; [vocab]'s output when that stage runs)",
    "corpus": "text files for pregen (a list; glob patterns allowed)",
    "task": "the task of finetune, augment, distill_task and eval (a task plugin name)",
    "data_dir": "the folder holding <task>/{train,dev,test}.json",
    "max_seq_len": "positions of the models the recipe builds, and the task stages' default length",
    "threads": "torch CPU threads of every stage",
    "report_to": "also log metrics to: tensorboard (OUTPUT/tensorboard/<stage>) or none",
}
# The type each top-level key must have (``student`` may also be a shape table, ``corpus`` one string).
TOP_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "description": (str,), "output": (str,), "seed": (int,), "teacher": (str,),
    "task_teacher": (str,), "student": (str,), "tokenizer": (str,), "corpus": (list, str), "task": (str,),
    "data_dir": (str,), "max_seq_len": (int,), "threads": (int,), "report_to": (str,),
}
SHAPE_KEYS = ("layers", "hidden", "heads", "intermediate")
BUNDLED = Path(__file__).resolve().parents[1] / "data" / "recipes"


@dataclass
class Recipe:
    """A merged, checked recipe: ``top`` keys, ``stages`` tables (only enabled ones), where it came from."""

    path: Path  # the file given (or the bundled file)
    top: dict[str, Any]
    stages: dict[str, dict[str, Any]]
    sources: list[Path] = field(default_factory=list)  # the file and those it extends, child first
    texts: dict[str, str] = field(default_factory=dict)  # file -> text, for line numbers in errors
    overridden: set[tuple[str | None, str]] = field(default_factory=set)  # (section, key) given by --set

    def stage(self, name: str) -> dict[str, Any]:
        return self.stages.get(name, {})

    def has(self, name: str) -> bool:
        return name in self.stages

    def get(self, key: str, default: Any = None) -> Any:
        return self.top.get(key, default)

    def error(self, message: str, section: str | None = None, key: str | None = None) -> ConfigError:
        """A ``ConfigError`` naming the file (and line) where ``[section] key`` is set."""
        where = str(self.path)
        if key is not None and (section, key) in self.overridden:
            name = f"[{section}] {key}" if section else key
            return ConfigError(f"{where}: {name} (from --set): {message}")
        for source in self.sources:
            line = key_line(self.texts.get(str(source), ""), section, key) if key or section else None
            if line is not None:
                where = f"{source}:{line}"
                break
        name = f"[{section}] {key}" if section and key else f"[{section}]" if section else key
        return ConfigError(f"{where}: {name + ': ' if name else ''}{message}")

    def shape(self) -> BertShape | None:
        """The student's shape when ``student`` is a table."""
        student = self.top.get("student")
        return student if isinstance(student, BertShape) else None

    def to_dict(self) -> dict[str, Any]:
        top = dict(self.top)
        if isinstance(top.get("student"), BertShape):
            shape = top["student"]
            top["student"] = {k: getattr(shape, k) for k in SHAPE_KEYS}
        return {**top, **{name: dict(table) for name, table in self.stages.items()}}


def bundled_names() -> list[str]:
    return sorted(p.stem for p in BUNDLED.glob("*.toml"))


def bundled_path(name: str) -> Path:
    return BUNDLED / f"{name}.toml"


def resolve_source(spec: str | Path, base: Path | None = None) -> Path:
    """A recipe file: a path (relative to ``base`` when given) or the name of a bundled recipe."""
    path = Path(spec)
    if base is not None and not path.is_absolute():
        path = base / path
    if path.is_file():
        return path
    if str(spec) in bundled_names():
        return bundled_path(str(spec))
    close = difflib.get_close_matches(str(spec), bundled_names(), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"recipe {spec}: no such file and no bundled recipe of that name (bundled: "
                      f"{', '.join(bundled_names())}; `tinyzh run --list`){hint}")


def load_recipe(spec: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read ``spec`` (and what it extends), apply ``--set`` ``overrides``, check every key and value."""
    path = resolve_source(spec)
    data, sources, texts = _read_chain(path, [])
    overridden = {_apply_override(data, text) for text in overrides or []}
    recipe = Recipe(path, {}, {}, sources, texts, overridden)
    _split(recipe, data)
    return recipe


def _read_chain(path: Path, seen: list[Path]) -> tuple[dict[str, Any], list[Path], dict[str, str]]:
    if path.resolve() in seen:
        raise ConfigError(f"{path}: extends itself (through {' -> '.join(map(str, seen))}); remove the loop")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the recipe ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    sources, texts = [path], {str(path): text}
    parent = data.pop("extends", None)
    if parent is None:
        return data, sources, texts
    if not isinstance(parent, str):
        raise ConfigError(f"{path}:{key_line(text, None, 'extends')}: extends: expected a recipe name or file")
    base, more, more_texts = _read_chain(resolve_source(parent, path.parent), [*seen, path.resolve()])
    return _merge(base, data), sources + more, {**texts, **more_texts}


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _apply_override(data: dict[str, Any], text: str) -> tuple[str | None, str]:
    """``KEY=VALUE`` or ``STAGE.KEY=VALUE``; the value is read as TOML (``3``, ``true``, ``["a", "b"]``),
    else taken as a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE or STAGE.KEY=VALUE (e.g. --set pregen.epochs=3)")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    if key == "corpus" and isinstance(value, str):
        value = [v for v in value.split(",") if v]
    target, _, name = key.rpartition(".")
    table = data.setdefault(target, {}) if target else data
    if not isinstance(table, dict):
        raise ConfigError(f"--set {text!r}: {target} is not a table")
    table[name] = value
    return target or None, name


def _split(recipe: Recipe, data: dict[str, Any]) -> None:
    """Top keys and stage tables, with unknown names reported with the closest valid one."""
    from tinyzh.recipe.stages import STAGE_KEYS, WIRED

    for key, value in data.items():
        if key in STAGES and isinstance(value, dict):
            if value.get("enabled", True) is False:
                continue
            table = {k: v for k, v in value.items() if k != "enabled"}
            for name in table:
                if name in WIRED.get(key, {}):
                    raise recipe.error(f"is set by the recipe ({WIRED[key][name]}); remove it", key, name)
                if name not in STAGE_KEYS[key]:
                    raise recipe.error(f"unknown key{_closest(name, STAGE_KEYS[key])}", key, name)
            recipe.stages[key] = table
        elif key == "student" and isinstance(value, dict):
            recipe.top[key] = _shape(recipe, value)
        elif key in TOP_KEYS:
            _check_type(recipe, key, value)
            recipe.top[key] = value
        else:
            hint = _closest(key, [*TOP_KEYS, *STAGES])
            section, name = (key, None) if isinstance(value, dict) else (None, key)
            raise recipe.error(f"unknown {'table' if section else 'key'}{hint}; top-level keys: "
                               f"{', '.join(TOP_KEYS)}; stages: {', '.join(STAGES)}", section, name)
    recipe.stages = {name: recipe.stages[name] for name in STAGES if name in recipe.stages}


def _check_type(recipe: Recipe, key: str, value: Any) -> None:
    types = TOP_TYPES.get(key, (object,))
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if key == "corpus" and isinstance(value, list):
        ok = all(isinstance(v, str) for v in value)
    if key in ("seed", "max_seq_len", "threads") and ok and value < (0 if key == "seed" else 1):
        raise recipe.error(f"must be {'>= 0' if key == 'seed' else 'at least 1'}, got {value}", None, key)
    if not ok:
        expected = " or ".join("a list of strings" if t is list else {str: "a string", int: "an integer"}[t]
                               for t in types)
        raise recipe.error(f"expected {expected}, got {value!r}", None, key)


def _shape(recipe: Recipe, table: dict[str, Any]) -> BertShape:
    unknown = [k for k in table if k not in SHAPE_KEYS]
    if unknown:
        raise recipe.error(f"unknown key{_closest(unknown[0], SHAPE_KEYS)}", "student", unknown[0])
    missing = [k for k in SHAPE_KEYS if k not in table]
    if missing:
        raise recipe.error(f"the student table needs {', '.join(SHAPE_KEYS)}; missing {', '.join(missing)}",
                           "student", None)
    try:
        return BertShape(**table)
    except ConfigError as exc:
        raise recipe.error(str(exc), "student", None) from None


def _closest(name: str, valid: Any) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def key_line(text: str, section: str | None, key: str | None) -> int | None:
    """The 1-based line where ``key`` is set inside ``[section]`` (top level when None), if written so."""
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([\w.\-]+)\s*\]", stripped)
        if header:
            current = header.group(1)
            if key is None and current == section:
                return number
            continue
        if key is not None and current == section and re.match(rf"^{re.escape(key)}\s*=", stripped):
            return number
    return None
