"""Real distributions on sys.path: broken, bad and clashing plugins, and a real ``pip install``."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.plugins.conftest import PLUGINS_DIR, write_dist_info
from tinyzh import plugins
from tinyzh.cli import app
from tinyzh.errors import PluginError


def _bad_distribution(site: Path) -> None:
    """One package with three faulty entry points beside one good task."""
    (site / "tinyzh_faulty.py").write_text(
        "raise ImportError('tinyzh_faulty needs the package zhconv-turbo, which is not installed')\n"
    , encoding="utf-8")
    (site / "tinyzh_odd.py").write_text(
        "from tinyzh.tasks.base import JsonLinesTask\n\nTASK = 42\n\n"
        "class Fine(JsonLinesTask):\n    name = 'fine'\n    labels = ('0', '1')\n    text_fields = ('text',)\n"
        "    submission_file = 'fine_predict.json'\n    dir_names = ('fine',)\n"
    , encoding="utf-8")
    write_dist_info(
        site,
        "tinyzh-faulty",
        "9.9",
        {
            "tinyzh.tasks": {
                "faulty": "tinyzh_faulty:Task",
                "odd": "tinyzh_odd:TASK",
                "tnews": "tinyzh_odd:Fine",  # tries to shadow the built-in CLUE task
                "fine": "tinyzh_odd:Fine",
            }
        },
    )


@pytest.fixture
def bad_site(fake_site: Path) -> Iterator[Path]:
    _bad_distribution(fake_site)
    yield fake_site
    for module in ("tinyzh_faulty", "tinyzh_odd"):
        sys.modules.pop(module, None)


def test_each_fault_gets_a_clear_message(bad_site: Path) -> None:
    with pytest.raises(
        PluginError,
        match="task plugin 'faulty' is broken: failed to import tinyzh_faulty:Task: "
        "ImportError: tinyzh_faulty needs the package zhconv-turbo",
    ):
        plugins.get_task("faulty")
    with pytest.raises(
        PluginError, match="task plugin 'odd' is broken: tinyzh_odd:TASK is a int, not a class or factory"
    ):
        plugins.get_task("odd")
    assert type(plugins.get_task("tnews")).__module__ == "tinyzh.tasks.clue"  # the built-in wins
    assert plugins.get_task("fine").name == "fine"  # a bad neighbour does not spoil the package


def test_cli_reports_faults_and_keeps_working(bad_site: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["plugins", "--kind", "tasks"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the table may wrap long cells
    assert "tinyzh-faulty" in text and "9.9" in text
    assert "ImportError" in text and "not a class or factory" in text and "clashes with" in text
    assert "3 plugin(s) could not be loaded" in text
    # Listing twice (fresh discovery) still works, and other commands are unaffected.
    plugins.reset()
    assert runner.invoke(app, ["plugins"]).exit_code == 0
    assert runner.invoke(app, ["--help"]).exit_code == 0


@pytest.mark.skipif(
    importlib.util.find_spec("setuptools") is None or importlib.util.find_spec("pip") is None,
    reason="pip and setuptools are needed to build the plugin package",
)
def test_pip_install_of_the_real_package(
    fake_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Build from a copy: pip builds in the source tree and would leave build/ and *.egg-info behind.
    source = tmp_path / "tinyzh-lcqmc"
    shutil.copytree(
        PLUGINS_DIR / "tinyzh-lcqmc", source, ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    target = tmp_path / "target"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
               "--quiet", "--target", str(target), str(source)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (target / "tinyzh_lcqmc" / "__init__.py").is_file()

    monkeypatch.syspath_prepend(str(target))
    sys.modules.pop("tinyzh_lcqmc", None)
    plugins.reset()
    try:
        info = next(i for i in plugins.registry("tasks").infos() if i.name == "lcqmc")
        assert (info.dist, info.version, info.ok) == ("tinyzh-lcqmc", "0.1.0", True)
        data = tmp_path / "dev.json"
        data.write_text(
            json.dumps({"sentence1": "你好", "sentence2": "您好", "label": "1"}) + "\n", encoding="utf-8"
        )
        (example,) = plugins.get_task("lcqmc").read_examples(data, "dev")
        assert example.label == "1"
        assert sys.modules["tinyzh_lcqmc"].__file__.startswith(str(target))  # imported from the install
    finally:
        sys.modules.pop("tinyzh_lcqmc", None)
