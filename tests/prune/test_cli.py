"""``tinyzh prune-vocab`` end to end: corpus and task files, the printed report, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.prune.conftest import TEXTS, assert_same_on, kept_ids
from tinyzh.cli import app
from tinyzh.commands.prune_vocab import spread_values


def _files(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    corpus_a, corpus_b = tmp_path / "a.txt", tmp_path / "b.txt"
    corpus_a.write_text(f"{TEXTS[0]}\n{TEXTS[1]}\n\n{TEXTS[2]}\n", encoding="utf-8")
    corpus_b.write_text(f"{TEXTS[3]}\n", encoding="utf-8")
    train, dev = tmp_path / "train.json", tmp_path / "dev.json"
    train.write_text(json.dumps({"label": "100", "sentence": TEXTS[4]}, ensure_ascii=False) + "\n", encoding="utf-8")
    dev.write_text(json.dumps({"label": 101, "sentence": "音乐会的声音很大"}, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    return corpus_a, corpus_b, train, dev


@pytest.mark.parametrize("kind", ["wordpiece-json", "unigram-json"])
def test_command_prunes_and_prints_the_report(tiny_models: dict[str, Path], tmp_path: Path, kind: str) -> None:
    corpus_a, corpus_b, train, dev = _files(tmp_path)
    out = tmp_path / "out"
    args = ["prune-vocab", str(tiny_models[kind]), "--corpus", str(corpus_a), str(corpus_b), "--task", "tnews",
            "--data", str(train), str(dev), "--output", str(out), "--no-keep-basic"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "prune_vocab.json").read_text(encoding="utf-8"))
    assert record["text_files"] == [str(corpus_a), str(corpus_b), str(train), str(dev)]
    assert record["texts"] == 6
    for label in ("tokens", "parameters", "embedding parameters", "MB"):
        assert label in result.output
    assert f"{record['tokens_before']:,}" in result.output and f"{record['tokens_after']:,}" in result.output
    assert f"{record['bytes_after'] / 1e6:.2f}" in result.output
    assert_same_on(tiny_models[kind], out, [*TEXTS, "音乐会的声音很大"])


def test_keep_basic_is_the_default(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    corpus_a, *_ = _files(tmp_path)
    for name, extra in (("basic", []), ("texts", ["--no-keep-basic"])):
        result = CliRunner().invoke(app, ["prune-vocab", str(tiny_models["wordpiece-txt"]), "--corpus", str(corpus_a),
                                          "-o", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
    assert len(kept_ids(tmp_path / "basic")) > 2 * len(kept_ids(tmp_path / "texts"))


def test_several_values_are_rewritten_as_repeated_options() -> None:
    words = ["M", "--corpus", "a", "b", "--task", "t", "--data=c", "d", "-o", "out", "--", "--corpus"]
    assert spread_values(words) == ["M", "--corpus", "a", "--corpus", "b", "--task", "t", "--data=c", "--data", "d",
                                    "-o", "out", "--", "--corpus"]


@pytest.mark.parametrize(("make_args", "message"), [
    (lambda m, d: ["--corpus", str(d / "missing.txt")], "missing.txt: corpus file not found"),
    (lambda m, d: ["--data", str(d / "train.json")], "--data needs --task"),
    (lambda m, d: ["--task", "tnews"], "--task tnews needs --data"),
    (lambda m, d: [], "no texts: give --corpus"),
    (lambda m, d: ["--task", "nosuch", "--data", str(d / "train.json")], "nosuch"),
    (lambda m, d: ["--task", "tnews", "--data", str(d / "bad.json")], "bad.json:2: malformed JSON"),
])
def test_bad_input_is_one_red_line(tiny_models: dict[str, Path], tmp_path: Path, make_args, message: str) -> None:
    _files(tmp_path)
    (tmp_path / "bad.json").write_text('{"label": "100", "sentence": "好"}\n{"label": \n', encoding="utf-8")
    model = tiny_models["wordpiece-json"]
    # A wide terminal, so the one line rich prints is not wrapped.
    result = CliRunner(env={"COLUMNS": "400"}).invoke(app, ["prune-vocab", str(model), *make_args(model, tmp_path),
                                                            "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_help_lists_the_command() -> None:
    assert "prune-vocab" in CliRunner().invoke(app, ["--help"]).output


def test_corpus_with_invalid_utf8_names_the_line(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes("好的\n".encode() + b"\xff\xfe bad\n")
    result = CliRunner(env={"COLUMNS": "400"}).invoke(app, ["prune-vocab", str(tiny_models["wordpiece-json"]),
                                                            "--corpus", str(corpus), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "bad.txt:2: invalid UTF-8" in result.output
