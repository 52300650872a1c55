"""The CLI edge: one readable line and exit 1 for user errors, a traceback only with --debug."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tinyzh import __version__
from tinyzh.cli import app
from tinyzh.errors import InputError


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("pregen", "distill", "augment", "eval", "plugins", "export", "demo", "prune-vocab"):
        assert command in result.output


def test_input_error_message_names_file_and_line() -> None:
    err = InputError("invalid UTF-8", path="corpus.txt", line=7)
    assert str(err) == "corpus.txt:7: invalid UTF-8"


def _fail() -> None:
    raise InputError("label 'x' is not one of 0, 1", path="train.json", line=3)


@pytest.fixture
def failing_command():
    app.command("fail-for-test")(_fail)
    yield
    app.registered_commands.pop()


def test_user_error_is_one_line_without_traceback(failing_command) -> None:
    result = CliRunner().invoke(app, ["fail-for-test"])
    assert result.exit_code == 1
    assert "train.json:3: label 'x' is not one of 0, 1" in result.output
    assert "Traceback" not in result.output


def test_debug_shows_the_exception(failing_command) -> None:
    result = CliRunner().invoke(app, ["--debug", "fail-for-test"])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)


def test_python_dash_m_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "tinyzh", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"tinyzh {__version__}"


def test_bad_option_value_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["plugins", "--no-such-flag"])
    assert result.exit_code == 2
    assert "No such option" in result.output


@pytest.mark.parametrize(("argv", "expected"), [
    (["pregen", "corpus.txt", "-o", "out"], "pregen"), (["-v", "--debug", "eval", "--tasks", "tnews"], "eval"),
    (["--help"], None), ([], None), (["pregn", "x"], None), (["prune-vocab"], "prune-vocab")])
def test_the_command_on_the_line_is_found(argv: list[str], expected: str | None) -> None:
    from tinyzh.cli import requested_command

    assert requested_command(argv) == expected


def test_main_builds_only_the_command_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import tinyzh.cli as cli

    built: list[list[str]] = []
    real = cli.make_app

    def spy(commands=cli.COMMANDS):
        built.append(list(commands))
        return real(commands)

    monkeypatch.setattr(cli, "make_app", spy)
    for argv in (["tinyzh", "plugins", "--help"], ["tinyzh", "--help"]):
        monkeypatch.setattr(sys, "argv", argv)
        with pytest.raises(SystemExit) as done:
            cli.main()
        assert done.value.code == 0
    assert built == [["plugins"], list(cli.COMMANDS)]
