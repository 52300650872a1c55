"""One wrapper for loading: every library failure becomes one ``ConfigError`` line, even an empty one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyzh.errors import ConfigError
from tinyzh.hf import first_line, load_pretrained


class Failing:
    """A loader whose ``from_pretrained`` raises ``exc``."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def from_pretrained(self, name: str, **kwargs: object) -> None:
        raise self.exc


@pytest.mark.parametrize("exc", [OSError(""), ValueError("\n\n"), KeyError(), RuntimeError("bad\nmore")])
def test_failures_with_any_message_become_one_line(tmp_path: Path, exc: BaseException) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_pretrained(Failing(exc), str(tmp_path), "model", hint="give a checkpoint")
    message = str(info.value)
    assert message.startswith(f"could not load the model {str(tmp_path)!r} ({type(exc).__name__}")
    assert "\n" not in message and message.endswith("give a checkpoint")


def test_first_line() -> None:
    assert first_line(OSError("")) == "OSError"
    assert first_line(ValueError("  \nsecond")) == "ValueError: second"


def test_a_directory_without_config_json_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no config.json, so it is not a model checkpoint"):
        load_pretrained(Failing(OSError()), str(tmp_path), "teacher")


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        load_pretrained(Failing(OSError()), str(tmp_path / "nope"), "teacher")
