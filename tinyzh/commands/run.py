"""``tinyzh run RECIPE``: the whole recipe from one TOML file, each stage skipped when up to date."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tinyzh.errors import ConfigError

if TYPE_CHECKING:
    from tinyzh.recipe import Recipe, RunSummary


def run(
    recipe: Annotated[str | None, typer.Argument(help="A recipe file, or the name of a bundled one (see --list).", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The run's folder (overrides the recipe's output).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE or STAGE.KEY=VALUE over the recipe (repeatable), e.g. --set pregen.epochs=3.")] = None,
    from_stage: Annotated[str | None, typer.Option("--from", help="Rerun from this stage on (earlier ones must be up to date).")] = None,
    only: Annotated[str | None, typer.Option("--only", help="Run only this stage (earlier ones must be up to date).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and the equivalent commands; run nothing.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the bundled recipes.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Remove an earlier run in the output folder first.")] = False,
    report_to: Annotated[str | None, typer.Option("--report-to", help="Also log metrics to: tensorboard (OUTPUT/tensorboard/<stage>) or none.")] = None,
) -> None:
    """Run a recipe: pregen -> teacher -> general distillation -> augment -> task distillation -> eval.

    Each stage is resumable and skipped when its output is complete and its settings unchanged; a changed
    setting reruns that stage and those after it. Writes OUTPUT/results.json and saves the recipe there.
    """
    from tinyzh.recipe import load_recipe

    console = Console()
    if list_:
        _print_list(console)
        return
    if recipe is None:
        raise ConfigError("give a recipe file or a bundled recipe name (tinyzh run --list shows them)")
    overrides = list(set_ or [])
    if output is not None:
        overrides.append(f"output={_toml_string(str(output))}")
    if report_to is not None:
        overrides.append(f"report_to={_toml_string(report_to)}")
    loaded = load_recipe(recipe, overrides)
    if dry_run:
        _print_plan(console, loaded, from_stage, only)
        return
    summary = _run(console, loaded, from_stage, only, overwrite)
    print_summary(console, summary)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run(console: Console, recipe: Recipe, from_stage: str | None, only: str | None, overwrite: bool) -> RunSummary:
    from tinyzh.commands.reporting import RichReporter
    from tinyzh.recipe import run_recipe

    reporter = RichReporter(console, transient=True)
    try:
        return run_recipe(recipe, reporter, from_stage=from_stage, only=only, overwrite=overwrite)
    finally:
        reporter.close()


def _print_list(console: Console) -> None:
    from tinyzh.recipe import bundled_names, load_recipe
    from tinyzh.recipe.schema import bundled_path

    table = Table(title="bundled recipes (tinyzh run NAME)")
    for column in ("name", "stages", "description"):
        table.add_column(column)
    for name in bundled_names():
        recipe = load_recipe(bundled_path(name))
        table.add_row(name, " ".join(recipe.stages), str(recipe.get("description", "")))
    console.print(table)


def _print_plan(console: Console, recipe: Recipe, from_stage: str | None, only: str | None) -> None:
    from tinyzh.recipe import plan

    steps = plan(recipe, from_stage=from_stage, only=only)
    table = Table(title=f"plan of {recipe.get('name', recipe.path.stem)} -> {recipe.get('output')}")
    for column in ("stage", "action", "why"):
        table.add_column(column)
    for step in steps:
        table.add_row(step.name, step.action, step.reason)
    console.print(table)
    console.print("equivalent commands:")
    for step in steps:
        console.print(f"  # {step.name}", style="dim", highlight=False)
        console.print(f"  {step.command()}", highlight=False, markup=False, soft_wrap=True)


def print_summary(console: Console, summary: RunSummary) -> None:
    from tinyzh.recipe.runner import RESULTS

    stages = Table(title="stages")
    for column in ("stage", "action", "time (s)", "output"):
        stages.add_column(column, justify="right" if column == "time (s)" else "left")
    for step in summary.steps:
        action = {"skip": "up to date", "run": "ran", "resume": "resumed"}[step.action]
        stages.add_row(step.name, action, f"{step.seconds:.1f}", str(step.plan.outputs[0]))
    console.print(stages)
    if summary.models:
        models = Table(title="models (dev set)")
        for column in ("model", "parameters", "size on disk (MB)", "examples/s", "dev score"):
            models.add_column(column, justify="left" if column == "model" else "right")
        for row in summary.models:
            models.add_row(row["name"], f"{row['parameters'] / 1e6:.2f}M", f"{row['size_bytes'] / 1e6:.2f}",
                           f"{row['examples_per_s']:.0f}", f"{row['dev_score']:.1%} {row['metric']}")
        console.print(models)
    console.print(f"wrote {summary.output / RESULTS}")
