"""``run_demo``: the bundled ``demo`` recipe (``tinyzh/data/recipes/demo*.toml``) and its table.

``tinyzh demo`` is ``tinyzh run demo`` with the demo's table at the end: teacher vs student vs a
no-distillation baseline. Sizes are recipes: ``default`` is ``demo``, ``tiny`` (seconds, for the
tests) is ``demo-tiny``, ``large`` is ``demo-large``. Usage::

    report = run_demo("tiny", Path("out"), reporter=reporter)
    report.row("student").dev_accuracy
"""

from __future__ import annotations

from pathlib import Path

from tinyzh import plugins
from tinyzh.demo.report import DemoReport, demo_report, write_report
from tinyzh.errors import ConfigError, PluginError
from tinyzh.recipe import Recipe, load_recipe, run_recipe
from tinyzh.report import Reporter

TASK = "demo-products"
SIZES = {"default": "demo", "tiny": "demo-tiny", "large": "demo-large"}


def demo_recipe(size: str = "default", output: Path | None = None, seed: int = 0, threads: int | None = None,
                report_to: str = "none") -> Recipe:
    """The demo recipe of ``size``, with the command's options over it."""
    if size not in SIZES:
        raise ConfigError(f"--size {size!r} is not a demo size; expected one of {', '.join(SIZES)}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    overrides = [f"seed={seed}", f"report_to={_toml_string(report_to)}"]
    if output is not None:
        overrides.append(f"output={_toml_string(str(output))}")
    if threads is not None:
        overrides.append(f"threads={threads}")
    return load_recipe(SIZES[size], overrides)


def run_demo(size: str = "default", output: Path | None = None, *, seed: int = 0, threads: int | None = None,
             overwrite: bool = False, report_to: str = "none", reporter: Reporter | None = None) -> DemoReport:
    """Run (or resume) the demo recipe and write ``demo_results.{json,md}`` beside its results."""
    if TASK not in plugins.registry("tasks").names():
        raise PluginError(f"the demo task plugin {TASK!r} is not registered; reinstall tinyzh (pip install -e .) "
                          "so that its entry points are up to date")
    recipe = demo_recipe(size, output, seed, threads, report_to)
    summary = run_recipe(recipe, reporter, overwrite=overwrite)
    report = demo_report(summary, size)
    write_report(report, summary.output)
    return report


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
