"""Recipes: the whole TinyBERT chain as one TOML file, run by ``tinyzh run``.

``schema`` reads and checks a recipe, ``stages`` builds each stage's command config and run,
``runner`` decides what is up to date and runs the rest, ``commands`` prints the equivalent shell
commands. Usage::

    from tinyzh.recipe import load_recipe, run_recipe
    summary = run_recipe(load_recipe("demo-tiny", overrides=["output=out"]))
"""

from tinyzh.recipe.runner import RunSummary, plan, run_recipe
from tinyzh.recipe.schema import STAGES, Recipe, bundled_names, load_recipe

__all__ = ["STAGES", "Recipe", "RunSummary", "bundled_names", "load_recipe", "plan", "run_recipe"]
