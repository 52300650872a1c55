"""Validating plugins against their protocol, so a broken one fails by name before it is used.

Importing a plugin proves little: a task without ``labels`` or whose ``__init__`` raises imports
fine and crashes later, deep inside a run. The checks here look at what each protocol in
:mod:`tinyzh.protocols` requires (attributes, their types, methods) and that ``name`` equals the
entry-point name. The registry runs them on every object a command creates (``get_task``,
``get_augmenter``, ``get_tokenizer``) and ``tinyzh plugins --check`` runs them on each plugin::

    problems = task_problems(task, "lcqmc")      # [] when the task is usable
    problems = factory_problems("augmenters", SomeAugmenter, "some")   # the class, not started

Each function returns the problems as short phrases (empty: fine); the caller joins them into one
``PluginError`` line.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

SCOPES = ("single", "multi", "any")
TASK_METHODS = ("read_examples", "parse_line", "with_texts")
TOKENIZER_INTS = ("vocab_size", "cls_token_id", "sep_token_id", "pad_token_id", "mask_token_id", "unk_token_id")
TOKENIZER_METHODS = ("encode_words", "vocab_fingerprint", "convert_ids_to_tokens", "save_pretrained")
# Factory parameters that mean "give me a model": such augmenters are not started by --check.
MODEL_PARAMETERS = ("teacher", "model", "name_or_path")


def _is_str_tuple(value: Any, *, min_len: int = 1) -> bool:
    return isinstance(value, (tuple, list)) and len(value) >= min_len and all(isinstance(v, str) and v for v in value)


def _name_problems(obj: Any, entry_name: str) -> list[str]:
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        return ["has no 'name' (a string)"]
    if name != entry_name:
        return [f"its name {name!r} differs from the entry-point name {entry_name!r}; make them equal"]
    return []


def _missing_methods(obj: Any, methods: tuple[str, ...]) -> list[str]:
    missing = [m for m in methods if not callable(getattr(obj, m, None))]
    return [f"has no method {', '.join(missing)}"] if missing else []


def task_problems(task: Any, entry_name: str) -> list[str]:
    """What keeps ``task`` from satisfying the ``Task`` protocol (see tinyzh/protocols.py)."""
    problems = _name_problems(task, entry_name)
    labels = getattr(task, "labels", None)
    if not _is_str_tuple(labels, min_len=2) or len(set(labels)) != len(labels):
        problems.append(f"'labels' must be a tuple of at least 2 distinct strings, found {labels!r}")
    from tinyzh.evaluate.metrics import METRICS  # light: no torch

    metric = getattr(task, "metric", None)
    if not isinstance(metric, str) or metric not in METRICS:
        problems.append(f"'metric' {metric!r} is not one of {', '.join(sorted(METRICS))}")
    submission = getattr(task, "submission_file", None)
    if not isinstance(submission, str) or not submission.strip() or "/" in submission or "\\" in submission:
        problems.append(f"'submission_file' must be a file name such as {entry_name}_predict.json, found {submission!r}")
    if not _is_str_tuple(getattr(task, "dir_names", None)):
        problems.append("'dir_names' must be a non-empty tuple of folder names")
    max_len = getattr(task, "max_seq_len", None)
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 8:
        problems.append(f"'max_seq_len' must be an integer >= 8, found {max_len!r}")
    fields = getattr(task, "text_fields", None)
    if fields is not None and not (_is_str_tuple(fields) and len(fields) <= 2):
        problems.append(f"'text_fields' must name 1 or 2 record fields, found {fields!r}")
    return problems + _missing_methods(task, TASK_METHODS)


def augmenter_problems(augmenter: Any, entry_name: str) -> list[str]:
    """What keeps ``augmenter`` (an object or its class) from satisfying the ``Augmenter`` protocol."""
    problems = _name_problems(augmenter, entry_name) + _missing_methods(augmenter, ("candidates",))
    scope = getattr(augmenter, "word_scope", "any")
    if scope not in SCOPES:
        problems.append(f"'word_scope' {scope!r} is not one of {', '.join(SCOPES)}")
    return problems


def tokenizer_problems(tokenizer: Any, entry_name: str) -> list[str]:
    """What keeps a started tokenizer from satisfying the ``Tokenizer`` protocol.

    A tokenizer's ``name`` is the model it was loaded from, so it is not compared with ``entry_name``.
    """
    del entry_name
    bad = [n for n in TOKENIZER_INTS if isinstance(getattr(tokenizer, n, None), bool)
           or not isinstance(getattr(tokenizer, n, None), int)]
    problems = [f"{', '.join(bad)} must be integers"] if bad else []
    return problems + _missing_methods(tokenizer, TOKENIZER_METHODS)


def object_problems(kind: str, obj: Any, entry_name: str) -> list[str]:
    checks: dict[str, Callable[[Any, str], list[str]]] = {
        "tasks": task_problems, "augmenters": augmenter_problems, "tokenizers": tokenizer_problems,
    }
    return checks[kind](obj, entry_name)


def needs_model(factory: Any) -> str | None:
    """The parameter naming a model that the factory needs (``teacher``…), or None."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return None
    return next((p for p in MODEL_PARAMETERS if p in params), None)


def factory_problems(kind: str, factory: Any, entry_name: str) -> list[str]:
    """Checks on the factory itself, for kinds ``--check`` does not start (tokenizers, model-backed
    augmenters): a class must declare the protocol's methods, an augmenter class its name too."""
    if not inspect.isclass(factory):
        return []  # a plain function: only what it returns can be checked
    if kind == "augmenters":
        return augmenter_problems(factory, entry_name)
    if kind == "tokenizers":
        problems = _missing_methods(factory, TOKENIZER_METHODS)
        try:
            inspect.signature(factory).bind("name-or-path")
        except TypeError:
            problems.append("cannot be called as factory(name_or_path)")
        except ValueError:
            pass
        return problems
    return []
