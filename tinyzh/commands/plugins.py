"""``tinyzh plugins``: list every discovered plugin, its distribution, and any that are broken.

``--check`` also starts and validates each one (see ``Registry.check``) and exits 1 when any is broken.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tinyzh import plugins as registry
from tinyzh.errors import ConfigError


def plugins(
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind: tokenizers, augmenters or tasks.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Start each plugin and validate it against its protocol; exit 1 if any is broken.")
    ] = False,
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
        reg = registry.registry(k)
        for info in reg.infos():
            if check and info.ok:
                info = reg.check(info.name)
            status = "[green]ok[/]" if info.ok else f"[red]broken[/]: {escape(info.error or '')}"
            if info.ok and info.note:
                status += f" ({escape(info.note)})"
            broken += not info.ok
            table.add_row(registry.GROUPS[k], info.name, info.value, info.dist, info.version, status)
    Console(width=200).print(table)
    if not check:  # "ok" here means "imports"; say how to learn more
        Console(stderr=True).print("[dim]ok = imports; `tinyzh plugins --check` also starts and validates each.[/]")
    if broken:
        what = "failed the check" if check else "could not be loaded"
        Console(stderr=True).print(f"[yellow]{broken} plugin(s) {what}; see the status column.[/]")
        if check:
            raise typer.Exit(1)
