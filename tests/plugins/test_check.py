"""``tinyzh plugins --check`` and the validation every command runs on the plugins it creates."""

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


class NoLabels(GoodTask):
    name = "nolabels"
    labels = ()
    dir_names = ("nolabels_data",)


class NoReader:
    """Imports fine, has attributes, but no read_examples / parse_line / with_texts."""

    name = "noreader"
    labels = ("0", "1")
    metric = "accuracy"
    submission_file = "x_predict.json"
    dir_names = ("noreader",)
    max_seq_len = 64


class RaisesInInit(GoodTask):
    name = "raises"

    def __init__(self) -> None:
        raise RuntimeError("cannot open my cache")


class WrongName(GoodTask):
    name = "other"


class NoTextFields(GoodTask):
    name = "notexts"
    text_fields = ()


class NoSubmission(GoodTask):
    name = "nosub"
    submission_file = ""


class BadScope:
    name = "badscope"
    word_scope = "sometimes"

    def candidates(self, texts):
        return [[[] for _ in t] for t in texts]


class NoCandidates:
    name = "nocand"


def _specs(*classes: type) -> list[EntryPointSpec]:
    return [EntryPointSpec(c.name, f"m:{c.__name__}", loader=lambda c=c: c) for c in classes]


BROKEN_TASKS = [
    (NoLabels, "'labels' must be a tuple of at least 2 distinct strings"),
    (NoReader, "has no method read_examples, parse_line, with_texts"),
    (RaisesInInit, "failed to start: RuntimeError: cannot open my cache"),
    (WrongName, "its name 'other' differs from the entry-point name 'wrongname'"),
    (NoTextFields, "'text_fields' must name 1 or 2 record fields, found ()"),
    (NoSubmission, "'submission_file' must be a file name such as nosub_predict.json"),
]


@pytest.mark.parametrize(("cls", "message"), BROKEN_TASKS, ids=[c.__name__ for c, _ in BROKEN_TASKS])
def test_get_task_rejects_a_task_that_misses_the_protocol(cls: type, message: str) -> None:
    name = "wrongname" if cls is WrongName else cls.name
    spec = EntryPointSpec(name, f"m:{cls.__name__}", loader=lambda: cls)
    with plugins.use_entry_points({"tinyzh.tasks": [spec]}, keep_installed=False):
        with pytest.raises(PluginError, match="task plugin") as caught:
            plugins.get_task(name)
    assert message in str(caught.value)


def test_good_task_passes_and_builtins_all_pass() -> None:
    with plugins.use_entry_points({"tinyzh.tasks": _specs(GoodTask)}):
        assert plugins.get_task("good").labels == ("0", "1")
        for name in plugins.registry("tasks").names():
            assert plugins.registry("tasks").check(name).ok, name


def test_augmenter_validation() -> None:
    with plugins.use_entry_points({"tinyzh.augmenters": _specs(BadScope, NoCandidates)}, keep_installed=False):
        with pytest.raises(PluginError, match="'word_scope' 'sometimes' is not one of single, multi, any"):
            plugins.get_augmenter("badscope")
        with pytest.raises(PluginError, match="has no method candidates"):
            plugins.get_augmenter("nocand")


def test_cli_check_exits_1_and_names_each_broken_plugin() -> None:
    tasks = [*_specs(GoodTask, NoLabels, RaisesInInit)]
    with plugins.use_entry_points({"tinyzh.tasks": tasks, "tinyzh.augmenters": _specs(NoCandidates)}):
        listed = CliRunner().invoke(app, ["plugins"])
        checked = CliRunner().invoke(app, ["plugins", "--check"])
    assert listed.exit_code == 0  # importing alone: each class imports, so all look ok
    assert checked.exit_code == 1, checked.output
    text = " ".join(checked.output.split())
    assert "3 plugin(s) failed the check" in text
    assert "cannot open my cache" in text and "'labels' must be" in text and "has no method candidates" in text
    assert "not started: it needs a teacher" in text  # the built-in mlm is checked as a class only


def test_cli_check_passes_on_the_installed_plugins() -> None:
    plugins.reset()
    result = CliRunner().invoke(app, ["plugins", "--check"])
    assert result.exit_code == 0, result.output


def test_debug_shows_where_the_plugins_import_failed(tmp_path, monkeypatch) -> None:
    (tmp_path / "tinyzh_brokenimport.py").write_text("x = 1\nimport tinyzh_not_there  # the plugin's line\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = EntryPointSpec("bi", "tinyzh_brokenimport:Task")
    with plugins.use_entry_points({"tinyzh.tasks": [spec]}, keep_installed=False):
        with pytest.raises(PluginError) as caught:
            plugins.get_task("bi")
    cause = caught.value.__cause__
    assert isinstance(cause, ModuleNotFoundError)
    frames = []
    tb = cause.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert any(f.endswith("tinyzh_brokenimport.py") for f in frames)


def test_tasks_all_never_skips_a_broken_plugin_silently(tmp_path) -> None:
    from tinyzh.tasks.data import tasks_in

    (tmp_path / "good").mkdir()
    with plugins.use_entry_points({"tinyzh.tasks": _specs(GoodTask, NoLabels)}, keep_installed=False):
        found, warnings = tasks_in(tmp_path)
        assert found == ["good"]
        assert len(warnings) == 1 and "skipped a broken task plugin" in warnings[0] and "nolabels" in warnings[0]
        (tmp_path / "nolabels_data").mkdir()  # now its data is there: the user wants it run
        result = CliRunner().invoke(app, ["eval", str(tmp_path), "--data-dir", str(tmp_path),
                                          "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "error: --tasks all: task plugin 'nolabels' (m:NoLabels) is broken: 'labels' must be" in text


def test_augment_refuses_a_broken_augmenter_before_touching_any_file(tmp_path) -> None:
    source = tmp_path / "train.json"
    source.write_text('{"id": 1, "sentence": "质量太差了", "label": "negative"}\n', encoding="utf-8")
    out = tmp_path / "out.json"
    with plugins.use_entry_points({"tinyzh.augmenters": _specs(BadScope)}):
        result = CliRunner().invoke(app, ["augment", "--task", "demo-sentiment", "--input", str(source),
                                          "--output", str(out), "--augmenter", "badscope"])
    assert result.exit_code == 1 and "'word_scope' 'sometimes' is not one of" in " ".join(result.output.split())
    assert not out.exists()
