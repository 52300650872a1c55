"""``--compile``: the same losses as eager within float tolerance (fp32), the compile report and cache,
the no-compiler error, the recipe key.

The two compiled runs each cost a compile of a tiny model (tens of seconds to minutes on a busy
2-core machine); they skip only where no C++ compiler is present.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.distill.conftest import general_config, read_metrics
from tests.distill.test_task import _cli, task_files, toy_task  # noqa: F401 - fixtures
from tinyzh.cli import app
from tinyzh.distill import compiler, run_distill
from tinyzh.errors import ConfigError

needs_compiler = pytest.mark.skipif(compiler.find_compiler() is None,
                                    reason="no C++ compiler for inductor (torch._inductor.config.cpp.cxx)")


def _losses(output: Path) -> list[float]:
    return [row["loss"] for row in read_metrics(output)]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "inductor"
    monkeypatch.setenv(compiler.CACHE_ENV, str(path))
    return path


@needs_compiler
def test_general_steps_compiled_match_eager(distill_root: dict[str, Path], tmp_path: Path, cache: Path) -> None:
    eager = run_distill(general_config(distill_root, tmp_path / "eager", max_steps=2))[0]
    compiled = run_distill(general_config(distill_root, tmp_path / "compiled", max_steps=2, compile=True))[0]
    assert _losses(tmp_path / "compiled") == pytest.approx(_losses(tmp_path / "eager"), rel=1e-5)
    assert eager.compile is None
    assert compiled.compile["graphs"] >= 1 and compiled.compile["seconds"] > 0
    assert compiled.compile["cache_dir"] == str(cache)
    assert any(p.is_file() for p in cache.rglob("*"))  # inductor's on-disk cache was written there
    summary = json.loads((tmp_path / "compiled" / "distill_summary.json").read_text(encoding="utf-8"))
    assert summary["compile"]["graphs"] == compiled.compile["graphs"]


@needs_compiler
def test_task_step_compiled_matches_eager(toy_task: None, task_files: dict[str, Path], tmp_path: Path,  # noqa: F811
                                          cache: Path) -> None:
    runner = CliRunner()
    args = ("--step", "prediction", "--max-steps", "2")
    eager = runner.invoke(app, _cli(task_files, tmp_path / "eager", *args))
    assert eager.exit_code == 0, eager.output
    compiled = runner.invoke(app, _cli(task_files, tmp_path / "compiled", *args, "--compile"))
    assert compiled.exit_code == 0, compiled.output
    assert "--compile spent" in compiled.output and "--compile spent" not in eager.output
    assert _losses(tmp_path / "compiled") == pytest.approx(_losses(tmp_path / "eager"), rel=1e-5)


def test_no_compiler_is_one_clear_error(distill_root: dict[str, Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler, "find_compiler", lambda: None)
    with pytest.raises(ConfigError, match=r"--compile: .*C\+\+ compiler.*g\+\+.*drop --compile"):
        run_distill(general_config(distill_root, tmp_path / "out", compile=True))
    assert not (tmp_path / "out" / "metrics.jsonl").exists()  # refused before any step
    result = CliRunner().invoke(app, ["distill", "--data", str(distill_root["pregen"]), "--output",
                                      str(tmp_path / "cli"), "--teacher", str(distill_root["teacher"]), "--compile"])
    assert result.exit_code == 1
    assert "--compile" in result.output and "drop --compile" in result.output
    assert "Traceback" not in result.output


def test_compile_is_a_recipe_key_that_does_not_rerun_a_stage(tmp_path: Path) -> None:
    from tests.demo.test_data import DEMO_ENTRY_POINT
    from tinyzh import plugins
    from tinyzh.recipe import load_recipe
    from tinyzh.recipe.commands import command_line
    from tinyzh.recipe.stages import STAGE_KEYS, build_plans

    assert "compile" in STAGE_KEYS["distill_general"] and "compile" in STAGE_KEYS["distill_task"]
    out = f'output="{tmp_path / "out"}"'
    with plugins.use_entry_points(DEMO_ENTRY_POINT):
        plain = {p.name: p for p in build_plans(load_recipe("demo-tiny", [out]))}
        on = {p.name: p for p in build_plans(load_recipe("demo-tiny", [out, "distill_general.compile=true",
                                                                       "distill_task.compile=true"]))}
    for stage in ("distill_general", "distill_task"):
        assert on[stage].config.compile and not plain[stage].config.compile
        assert "--compile" in command_line(on[stage]) and "--compile" not in command_line(plain[stage])
        assert on[stage].settings == plain[stage].settings  # a speed option: the stage's output is the same
