"""Plugin registry: discovery, lazy loading, broken plugins, clashes, unknown names."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tinyzh import plugins
from tinyzh.cli import app
from tinyzh.errors import PluginError
from tinyzh.plugins import EntryPointSpec
from tinyzh.tasks.base import JsonLinesTask


class GoodTask(JsonLinesTask):
    name = "good"
    labels = ("0", "1")
    text_fields = ("sentence",)
    submission_file = "good_predict.json"
    dir_names = ("good",)


def _boom() -> None:
    raise RuntimeError("no module named tinyzh_fancy_dependency")


def test_builtins_register_through_installed_entry_points() -> None:
    plugins.reset()
    infos = {(i.kind, i.name): i for i in plugins.registry("tokenizers").infos(load=False)}
    info = infos[("tokenizers", "bert-chinese")]
    assert info.dist == "tinyzh" and info.value.endswith(":BertChineseTokenizer")


def test_lazy_load_and_create() -> None:
    loads = []

    def loader() -> type[GoodTask]:
        loads.append(1)
        return GoodTask

    with plugins.use_entry_points({"tinyzh.tasks": [EntryPointSpec("good", "x:GoodTask", loader=loader)]}):
        reg = plugins.registry("tasks")
        assert "good" in reg.names()
        assert loads == []  # listing names imports nothing
        assert isinstance(plugins.get_task("good"), GoodTask)
        plugins.get_task("good")
        assert loads == [1]  # imported once, then cached


def test_unknown_name_lists_available() -> None:
    with plugins.use_entry_points({"tinyzh.tasks": [EntryPointSpec("good", "x:y", loader=lambda: GoodTask)]}, keep_installed=False):
        with pytest.raises(PluginError, match=r"unknown task plugin 'nope'; available: good"):
            plugins.get_task("nope")


def test_broken_plugin_is_reported_not_fatal() -> None:
    specs = [
        EntryPointSpec("broken", "fancy:Task", dist="tinyzh-fancy", loader=_boom),
        EntryPointSpec("good", "x:GoodTask", loader=lambda: GoodTask),
    ]
    with plugins.use_entry_points({"tinyzh.tasks": specs}, keep_installed=False):
        reg = plugins.registry("tasks")
        by_name = {i.name: i for i in reg.infos()}
        assert not by_name["broken"].ok and "RuntimeError" in (by_name["broken"].error or "")
        assert by_name["good"].ok
        with pytest.raises(PluginError, match="task plugin 'broken' is broken: failed to import fancy:Task"):
            plugins.get_task("broken")
        assert isinstance(plugins.get_task("good"), GoodTask)


def test_non_callable_object_is_rejected() -> None:
    with plugins.use_entry_points({"tinyzh.tasks": [EntryPointSpec("odd", "x:CONST", loader=lambda: 42)]}, keep_installed=False):
        with pytest.raises(PluginError, match="is a int, not a class or factory"):
            plugins.get_task("odd")


def test_third_party_cannot_shadow_builtin() -> None:
    shadow = EntryPointSpec("bert-chinese", "evil:Tok", dist="evil-plugin", loader=lambda: GoodTask)
    with plugins.use_entry_points({"tinyzh.tokenizers": [shadow]}):
        infos = [i for i in plugins.registry("tokenizers").infos(load=False) if i.name == "bert-chinese"]
        assert [i.dist for i in infos if i.ok] == ["tinyzh"]
        clash = next(i for i in infos if i.dist == "evil-plugin")
        assert "clashes with tinyzh.tokenizers.bert_chinese:BertChineseTokenizer from tinyzh" in (clash.error or "")


def test_factory_crash_becomes_plugin_error() -> None:
    def factory() -> None:
        raise ValueError("bad default")

    with plugins.use_entry_points({"tinyzh.tasks": [EntryPointSpec("crashy", "x:y", loader=lambda: factory)]}):
        with pytest.raises(PluginError, match="failed to start: ValueError: bad default"):
            plugins.get_task("crashy")


def test_cli_plugins_lists_broken_and_keeps_working() -> None:
    specs = [EntryPointSpec("broken", "fancy:Task", dist="tinyzh-fancy", version="1.2", loader=_boom)]
    with plugins.use_entry_points({"tinyzh.tasks": specs}):
        result = CliRunner().invoke(app, ["plugins", "--kind", "tasks"])
    assert result.exit_code == 0, result.output
    assert "broken" in result.output and "tinyzh-fancy" in result.output and "1.2" in result.output


def test_cli_plugins_rejects_unknown_kind() -> None:
    result = CliRunner().invoke(app, ["plugins", "--kind", "widgets"])
    assert result.exit_code == 1
    assert "--kind 'widgets' is not a plugin kind" in result.output
