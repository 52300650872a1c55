"""Plugin discovery through entry points.

One entry-point group per plugin kind; built-ins register through tinyzh's own ``pyproject.toml``
exactly like third-party packages do. A third-party package declares, for example::

    [project.entry-points."tinyzh.tasks"]
    lcqmc = "tinyzh_lcqmc:Lcqmc"

and after ``pip install`` the task shows up in ``tinyzh plugins`` and ``tinyzh eval --tasks lcqmc``.

Discovery is lazy and cached: entry points are listed once, an object is imported only when its name
is asked for, and an import failure is recorded (shown by ``tinyzh plugins``) instead of raised at
start-up. Tests swap the entry-point source with :func:`use_entry_points`.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tinyzh.errors import PluginError, TinyzhError
from tinyzh.plugin_checks import factory_problems, needs_model, object_problems

GROUPS: dict[str, str] = {
    "tokenizers": "tinyzh.tokenizers",
    "augmenters": "tinyzh.augmenters",
    "tasks": "tinyzh.tasks",
}
CORE_DIST = "tinyzh"


@dataclass
class PluginInfo:
    """What ``tinyzh plugins`` shows for one entry point."""

    kind: str  # "tokenizers" | "augmenters" | "tasks"
    name: str
    value: str  # "module:attr"
    dist: str
    version: str
    error: str | None = None  # why it is unusable (import error, clash, bad object)
    note: str | None = None  # what ``--check`` could not do (a tokenizer is not started without a model)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class EntryPointSpec:
    """An entry point as the registry sees it; tests build these by hand."""

    name: str
    value: str
    dist: str = "test"
    version: str = "0"
    loader: Callable[[], Any] | None = None  # overrides importing ``value``

    def load(self) -> Any:
        if self.loader is not None:
            return self.loader()
        module_name, _, attr = self.value.partition(":")
        obj: Any = __import__(module_name, fromlist=["_"])
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
        return obj


def _installed_entry_points(group: str) -> list[EntryPointSpec]:
    specs = []
    for ep in md.entry_points(group=group):
        dist = ep.dist.metadata["Name"] if ep.dist is not None else "?"
        version = ep.dist.version if ep.dist is not None else "?"
        specs.append(EntryPointSpec(ep.name, ep.value, dist, version))
    return specs


EntryPointSource = Callable[[str], Iterable[EntryPointSpec]]
_source: EntryPointSource = _installed_entry_points
_registries: dict[str, Registry] = {}


class Registry:
    """Entry points of one group: names, lazy loading, and a record of what failed."""

    def __init__(self, kind: str, specs: Iterable[EntryPointSpec]) -> None:
        self.kind = kind
        self._specs: dict[str, EntryPointSpec] = {}
        self._infos: dict[str, PluginInfo] = {}
        self._clashes: list[PluginInfo] = []
        self._loaded: dict[str, Any] = {}
        self._causes: dict[str, BaseException] = {}  # the plugin's own exception, for --debug tracebacks
        # Core first so that a third-party plugin can never shadow a built-in name.
        for spec in sorted(specs, key=lambda s: (s.dist != CORE_DIST, s.dist, s.name)):
            info = PluginInfo(kind, spec.name, spec.value, spec.dist, spec.version)
            if spec.name in self._specs:
                first = self._infos[spec.name]
                info.error = f"name clashes with {first.value} from {first.dist}; ignored"
                self._clashes.append(info)
                continue
            self._specs[spec.name] = spec
            self._infos[spec.name] = info

    def names(self) -> list[str]:
        return sorted(self._specs)

    def infos(self, load: bool = True) -> list[PluginInfo]:
        """Every entry point (clashes included); with ``load`` each is imported to check it."""
        if load:
            for name in self._specs:
                self._try_load(name)
        return sorted([*self._infos.values(), *self._clashes], key=lambda i: (i.name, i.dist))

    def _try_load(self, name: str) -> Any | None:
        if name in self._loaded:
            return self._loaded[name]
        info = self._infos[name]
        if info.error is not None:
            return None
        try:
            obj = self._specs[name].load()
        except Exception as exc:  # any import-time failure of a plugin is the plugin's problem
            info.error = f"failed to import {info.value}: {type(exc).__name__}: {exc}"
            self._causes[name] = exc
            return None
        if not callable(obj):
            info.error = f"{info.value} is a {type(obj).__name__}, not a class or factory"
            return None
        self._loaded[name] = obj
        return obj

    def factory(self, name: str) -> Callable[..., Any]:
        """The plugin's factory, or a ``PluginError`` that lists what is available."""
        if name not in self._specs:
            available = ", ".join(self.names()) or "none installed"
            raise PluginError(f"unknown {self.kind[:-1]} plugin {name!r}; available: {available}")
        obj = self._try_load(name)
        if obj is None:
            # chained to the import error, so --debug shows where in the plugin's code it failed
            raise PluginError(f"{self.kind[:-1]} plugin {name!r} is broken: {self._infos[name].error}") from (
                self._causes.get(name)
            )
        return obj

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the plugin's factory and validate what it returns against the kind's protocol.

        A crash inside the factory, or an object that misses part of the protocol, is a ``PluginError``.
        """
        factory = self.factory(name)
        try:
            obj = factory(*args, **kwargs)
        except PluginError:
            raise
        except Exception as exc:
            if _is_user_error(exc):
                raise
            raise PluginError(
                f"{self.kind[:-1]} plugin {name!r} ({self._infos[name].value}) failed to start: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._raise_problems(name, object_problems(self.kind, obj, name))
        return obj

    def _raise_problems(self, name: str, problems: list[str]) -> None:
        if problems:
            raise PluginError(
                f"{self.kind[:-1]} plugin {name!r} ({self._infos[name].value}) is broken: {'; '.join(problems)} "
                "(see docs/plugins.md for the protocol)"
            )

    def checked_factory(self, name: str) -> Callable[..., Any]:
        """The factory, after the checks a class allows before it is started (``factory_problems``)."""
        factory = self.factory(name)
        self._raise_problems(name, factory_problems(self.kind, factory, name))
        return factory

    def check(self, name: str) -> PluginInfo:
        """Load, start where possible, and validate one plugin (``tinyzh plugins --check``).

        Tasks are started (their factory takes no arguments) and so are augmenters that need no
        model. Tokenizers need a model name or path, and augmenters with a ``teacher``/``model``
        parameter load one, so those are checked as classes only and get a ``note`` saying so.
        """
        info = self._infos[name]
        if info.error is not None:
            return info
        try:
            factory = self.factory(name)
            model_param = "name_or_path" if self.kind == "tokenizers" else needs_model(factory)
            if model_param is not None:
                self.checked_factory(name)
                info.note = f"not started: it needs a {model_param}; checked as a class"
            else:
                self.create(name)
        except TinyzhError as exc:
            message = str(exc)
            info.error = message.split(" is broken: ", 1)[1] if " is broken: " in message else message
        return info


def _is_user_error(exc: Exception) -> bool:
    return isinstance(exc, TinyzhError)


def registry(kind: str) -> Registry:
    """The cached registry for ``kind`` ("tokenizers", "augmenters" or "tasks")."""
    if kind not in GROUPS:
        raise PluginError(f"unknown plugin kind {kind!r}; expected one of {', '.join(GROUPS)}")
    if kind not in _registries:
        _registries[kind] = Registry(kind, _source(GROUPS[kind]))
    return _registries[kind]


def get_tokenizer(plugin: str, name_or_path: str, **options: Any) -> Any:
    return registry("tokenizers").create(plugin, name_or_path, **options)


def get_augmenter(name: str, **options: Any) -> Any:
    return registry("augmenters").create(name, **options)


def get_task(name: str) -> Any:
    return registry("tasks").create(name)


def reset() -> None:
    """Forget cached registries (after installing a package, or in tests)."""
    _registries.clear()


@contextmanager
def use_entry_points(extra: dict[str, list[EntryPointSpec]], *, keep_installed: bool = True) -> Iterator[None]:
    """Temporarily add (or, with ``keep_installed=False``, replace) entry points; for tests.

    ``extra`` maps a group name such as ``"tinyzh.tasks"`` to specs.
    """
    global _source
    previous = _source

    def source(group: str) -> list[EntryPointSpec]:
        base = list(previous(group)) if keep_installed else []
        return base + list(extra.get(group, []))

    _source = source
    reset()
    try:
        yield
    finally:
        _source = previous
        reset()
