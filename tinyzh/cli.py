"""The ``tinyzh`` command line: root app, global options and the error edge.

Each command lives in ``tinyzh/commands/<name>.py`` as a thin function that parses options into a
config and calls the library. Errors the library raises as ``TinyzhError`` become one red line on
stderr and exit code 1 here; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from tinyzh import __version__
from tinyzh.errors import TinyzhError

err_console = Console(stderr=True)


class TinyzhGroup(TyperGroup):
    """Root group that turns user errors into one readable line."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TinyzhError as exc:
            if ctx.params.get("debug"):
                raise
            err_console.print(f"[bold red]error:[/] {_escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from None
        except (OSError, EOFError) as exc:  # the few a library call did not name itself
            message = _last_resort(exc)
            if message is None or ctx.params.get("debug"):
                raise
            err_console.print(f"[bold red]error:[/] {_escape(message)}", highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/] (rerun the same command to resume where supported)")
            raise typer.Exit(130) from None


def _last_resort(exc: OSError | EOFError) -> str | None:
    """One line for a full disk / read-only place, or a truncated file (click would print "Aborted!")."""
    import errno

    from tinyzh.io import describe_os_error

    if isinstance(exc, EOFError):
        return f"a file ended unexpectedly ({exc or 'EOFError'}): it is truncated; rerun with --debug to see which"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return describe_os_error(exc.filename or "the output", exc)
    return None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


# name -> (module in tinyzh.commands, function, custom command class or None), in ``--help`` order.
COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "pregen": ("pregen", "pregen", None),
    "distill": ("distill", "distill", None),
    "augment": ("augment", "augment", None),
    "eval": ("evaluate", "evaluate", None),
    "export": ("export", "export", None),
    "prune-vocab": ("prune_vocab", "prune_vocab", "MultiValueCommand"),
    "run": ("run", "run", None),
    "demo": ("demo", "demo", None),
    "plugins": ("plugins", "plugins", None),
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tinyzh {__version__}")
        raise typer.Exit()


def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv for debug).")] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """tinyzh: make small, fast Chinese BERT students the TinyBERT way."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # Silence the noisy per-call warnings of jieba and transformers unless asked for. transformers
    # sets its own logger level from TRANSFORMERS_VERBOSITY when imported (later, lazily).
    if verbose < 2:
        logging.getLogger("jieba").setLevel(logging.ERROR)
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def make_app(commands: Iterable[str] = COMMANDS) -> typer.Typer:
    """The root app with ``commands`` (all by default); each command's module is imported here."""
    app = typer.Typer(
        cls=TinyzhGroup,
        name="tinyzh",
        help="Chinese-first TinyBERT-style compression: pregen -> distill -> augment -> eval.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(root)
    for name in commands:
        module_name, function, command_class = COMMANDS[name]
        module = importlib.import_module(f"tinyzh.commands.{module_name}")
        options = {"cls": getattr(module, command_class)} if command_class else {}
        app.command(name, **options)(getattr(module, function))
    return app


def __getattr__(name: str) -> Any:
    """``tinyzh.cli.app``: the app with every command, built on first use (tests drive it)."""
    if name == "app":
        globals()["app"] = full = make_app()
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def requested_command(argv: list[str]) -> str | None:
    """The command named on the command line (the root options take no values), if it is one."""
    words = [arg for arg in argv if not arg.startswith("-")]
    return words[0] if words and words[0] in COMMANDS else None


# Commands whose outputs are all written and closed when they return (files through write_atomic,
# worker pools joined): after a success the process may end without the interpreter's teardown.
QUICK_EXIT = frozenset({"pregen"})


def main() -> None:
    # Only the command being run is built: typer reads the signature of every command it registers,
    # and their modules import more (~0.1 s of every start). Help and typos get the full list.
    command = requested_command(sys.argv[1:])
    app = make_app([command] if command else COMMANDS)
    try:
        app()
    except SystemExit as done:
        if command in QUICK_EXIT and done.code in (0, None):
            quick_exit()
        raise


def quick_exit() -> None:
    """End the process with status 0 now: tearing the interpreter down after a pregen run (the
    tokenizer's tables, rjieba's dictionary, every module) takes 0.1-0.2 s, up to 10 % of a 2 s run."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
