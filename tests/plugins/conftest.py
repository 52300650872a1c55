"""Fixtures that "install" the packages under plugins/ the cheap way.

A throw-away ``NAME.dist-info`` (METADATA + entry_points.txt) in a temp dir on ``sys.path`` is all
``importlib.metadata`` needs to discover a distribution's entry points; the plugin's source folder
goes on ``sys.path`` beside it so its module imports. No pip, no build, nothing left behind.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tinyzh import plugins

PLUGINS_DIR = Path(__file__).resolve().parents[2] / "plugins"


def write_dist_info(site: Path, dist: str, version: str, entry_points: dict[str, dict[str, str]]) -> Path:
    """Create ``site/<dist>-<version>.dist-info`` declaring ``entry_points`` ({group: {name: value}})."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = []
    for group, names in entry_points.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in names.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return info


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty site dir on ``sys.path``; registries are reset before and after."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    plugins.reset()
    yield site
    plugins.reset()


def _forget_modules(prefix: str) -> None:
    for name in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
        del sys.modules[name]


@pytest.fixture
def installed_plugins(fake_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Both plugin packages under plugins/ discoverable, as if pip-installed."""
    write_dist_info(fake_site, "tinyzh-lcqmc", "0.1.0", {"tinyzh.tasks": {"lcqmc": "tinyzh_lcqmc:Lcqmc"}})
    write_dist_info(
        fake_site,
        "tinyzh-opencc",
        "0.1.0",
        {
            "tinyzh.augmenters": {
                "s2t": "tinyzh_opencc:SimplifiedToTraditional",
                "t2s": "tinyzh_opencc:TraditionalToSimplified",
            }
        },
    )
    monkeypatch.syspath_prepend(str(PLUGINS_DIR / "tinyzh-lcqmc"))
    monkeypatch.syspath_prepend(str(PLUGINS_DIR / "tinyzh-opencc"))
    plugins.reset()
    yield fake_site
    _forget_modules("tinyzh_lcqmc")
    _forget_modules("tinyzh_opencc")
