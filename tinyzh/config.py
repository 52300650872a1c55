"""Shared defaults, model shapes and the base of every command's config.

Each command keeps its own dataclass config beside its code (``tinyzh.pregen.config`` …), built on
:class:`CommandConfig`: frozen, validated in ``__post_init__``, JSON-safe ``to_dict`` / ``from_dict``,
and ``RUN_ONLY``, the fields that change how a run goes but not what it writes (compared when a run
resumes or a recipe decides whether a stage is up to date). ``ADDED_LATER`` names options added after
runs were recorded: at their field defaults they are left out of ``identity``, so those runs'
recipe stages keep their fingerprints. Usage::

    @dataclass(frozen=True)
    class PregenConfig(CommandConfig):
        RUN_ONLY: ClassVar[frozenset[str]] = frozenset({"workers"})
        corpus: list[Path]
        ...
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from tinyzh.errors import ConfigError

DEFAULT_TEACHER = "bert-base-chinese"
DEFAULT_TOKENIZER = "bert-base-chinese"
DEFAULT_TOKENIZER_PLUGIN = "bert-chinese"
DEFAULT_MAX_SEQ_LEN = 128

C = TypeVar("C", bound="CommandConfig")


def to_json_value(value: Any) -> Any:
    """Paths as strings, tuples as lists, nested dataclasses as dicts: what ``json.dumps`` takes."""
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json_value(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class CommandConfig:
    """Base of the command configs; subclasses are ``@dataclass(frozen=True)`` and validate themselves."""

    RUN_ONLY: ClassVar[frozenset[str]] = frozenset()
    ADDED_LATER: ClassVar[frozenset[str]] = frozenset()

    def _set(self, name: str, value: Any) -> None:
        """Normalise a field inside ``__post_init__`` (the dataclass is frozen)."""
        object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: to_json_value(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        """The config a ``to_dict`` stored; keys it does not know (from another version) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def identity(self) -> dict[str, Any]:
        """``to_dict`` without the ``RUN_ONLY`` fields (nor ``ADDED_LATER`` ones at their defaults): equal
        identities write equal outputs."""
        defaults = {f.name: to_json_value(f.default) for f in fields(self) if f.name in self.ADDED_LATER}
        return {k: v for k, v in self.to_dict().items()
                if k not in self.RUN_ONLY and not (k in defaults and v == defaults[k])}

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class BertShape:
    """The size of a BERT-like encoder (a student preset, the demo's teacher and student)."""

    layers: int
    hidden: int
    heads: int
    intermediate: int

    def __post_init__(self) -> None:
        for name in ("layers", "hidden", "heads", "intermediate"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"model shape: {name} must be a positive integer, got {getattr(self, name)!r}")
        if self.hidden % self.heads:
            raise ConfigError(f"model shape: hidden {self.hidden} is not divisible by heads {self.heads}; "
                              "choose a hidden size that is a multiple of the head count")

    def config_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``transformers.BertConfig`` (and its relatives) for this shape."""
        return {
            "num_hidden_layers": self.layers,
            "hidden_size": self.hidden,
            "num_attention_heads": self.heads,
            "intermediate_size": self.intermediate,
        }


# TinyBERT's published shapes (Jiao et al. 2020, section 4.1). 312 / 12 heads = 26 dims a head.
STUDENT_PRESETS: dict[str, BertShape] = {
    "tinybert-4": BertShape(layers=4, hidden=312, heads=12, intermediate=1200),
    "tinybert-6": BertShape(layers=6, hidden=768, heads=12, intermediate=3072),
}


def get_preset(name: str) -> BertShape:
    try:
        return STUDENT_PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown student preset {name!r}; available: {', '.join(sorted(STUDENT_PRESETS))}"
        ) from None
