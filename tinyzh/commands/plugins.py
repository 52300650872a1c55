"""``tinyzh plugins``: list every discovered plugin, its distribution, and any that are broken."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tinyzh import plugins as registry
from tinyzh.errors import ConfigError


def plugins(
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind: tokenizers, augmenters or tasks.")
    ] = None,
) -> None:
    """List tokenizer, augmenter and task plugins with their distribution and version."""
    kinds = list(registry.GROUPS)
    if kind is not None:
        if kind not in registry.GROUPS:
            raise ConfigError(f"--kind {kind!r} is not a plugin kind; expected one of {', '.join(kinds)}")
        kinds = [kind]
    table = Table(title="tinyzh plugins")
    for column in ("group", "name", "object", "distribution", "version", "status"):
        table.add_column(column)
    broken = 0
    for k in kinds:
        for info in registry.registry(k).infos():
            status = "[green]ok[/]" if info.ok else f"[red]broken[/]: {info.error}"
            broken += not info.ok
            table.add_row(registry.GROUPS[k], info.name, info.value, info.dist, info.version, status)
    Console(width=200).print(table)
    if broken:
        Console(stderr=True).print(f"[yellow]{broken} plugin(s) could not be loaded; see the status column.[/]")
