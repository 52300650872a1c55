"""``tinyzh eval`` user errors: one red line naming the file and line, or the option; warnings that don't stop."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tasks import clue_files
from tinyzh.cli import app

FAST = ["--epochs", "1", "--batch-size", "4", "--max-seq-len", "32"]


def run(model: Path, data: Path, out: Path, *extra: str):
    result = CliRunner().invoke(app, ["eval", "-m", str(model), "--data-dir", str(data), "-o", str(out), *FAST, *extra])
    return result, " ".join(result.output.split())


def has(text: str, expected: str) -> bool:
    """``expected`` in ``text`` ignoring whitespace (rich wraps long paths mid-word)."""
    return "".join(expected.split()) in "".join(text.split())


def test_malformed_train_line_names_file_and_line(tiny_base: Path, tmp_path: Path) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["afqmc"])
    train = data / "afqmc_public" / "train.json"
    lines = train.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1][:-1]  # cut the closing brace of line 2
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, text = run(tiny_base, data, tmp_path / "out", "--tasks", "afqmc")
    assert result.exit_code == 1
    assert has(text, f"error: {train}:2: malformed JSON (Expecting ',' delimiter at character")


def test_label_outside_the_task_list_names_file_line_and_choices(tiny_base: Path, tmp_path: Path) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["ocnli"])
    dev = data / "ocnli" / "dev.json"
    rows = clue_files.rows("ocnli", "dev")
    rows[3]["label"] = "maybe"
    clue_files.write_jsonl(dev, rows)
    result, text = run(tiny_base, data, tmp_path / "out", "--tasks", "ocnli")
    assert result.exit_code == 1
    assert has(text, f"{dev}:4: label 'maybe' is not a ocnli label; expected one of contradiction, entailment, neutral")


def test_missing_task_folder_or_train_file_fails_before_any_training(tiny_base: Path, tmp_path: Path) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["afqmc"])
    result, text = run(tiny_base, data, tmp_path / "out", "--tasks", "afqmc,csl")
    assert result.exit_code == 1 and has(text, "no csl folder; expected one of csl, csl_public")
    assert not (tmp_path / "out" / tiny_base.name / "pairs" / "afqmc.json").exists()
    (data / "afqmc_public" / "train.json").unlink()
    result, text = run(tiny_base, data, tmp_path / "out", "--tasks", "afqmc")
    assert result.exit_code == 1 and has(text, "afqmc_public/train.json: file not found; the task folder needs train.json and dev.json")


def test_missing_test_file_only_skips_the_prediction(tiny_base: Path, tmp_path: Path) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["afqmc", "tnews"])
    (data / "tnews" / "test.json").unlink()
    result, text = run(tiny_base, data, tmp_path / "out", "--tasks", "afqmc,tnews")
    assert result.exit_code == 0, result.output
    assert has(text, "skipped the test prediction")
    submission = tmp_path / "out" / tiny_base.name / "submission"
    assert [p.name for p in submission.iterdir()] == ["afqmc_predict.json"]
    pair = json.loads((tmp_path / "out" / tiny_base.name / "pairs" / "tnews.json").read_text(encoding="utf-8"))
    assert pair["submission"] is None and pair["dev_score"] >= 0 and pair["warnings"]


def test_labelled_test_file_is_scored_and_tasks_all_finds_present_folders(tiny_base: Path, tmp_path: Path) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["tnews", "cluewsc2020"])
    for task_dir in ("tnews", "cluewsc"):
        shutil.copy(data / task_dir / "dev.json", data / task_dir / "test_public.json")
    result, _ = run(tiny_base, data, tmp_path / "out", "--test-file", "test_public.json")  # --tasks defaults to all
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert summary["tasks"] == ["cluewsc2020", "tnews"]
    for pair in summary["pairs"]:
        assert pair["test_score"] is not None and pair["n_test"] == 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tasks", "afqmc,nope"], "unknown task plugin 'nope'; available: afqmc,"),
        (["--tasks", "afqmc", "--epochs", "0"], "--epochs must be > 0, got 0.0"),
        (["--tasks", "afqmc", "--max-seq-len", "4"], "--max-seq-len 4 is too short"),
        (["--tasks", " , "], "names no task"),
    ],
)
def test_bad_options_are_one_line_config_errors(tiny_base: Path, tmp_path: Path, extra: list[str], message: str) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["afqmc"])
    result, text = run(tiny_base, data, tmp_path / "out", *extra)
    assert result.exit_code == 1 and has(text, message)


def test_two_models_with_the_same_folder_name_must_be_named(tiny_base: Path, tmp_path: Path) -> None:
    other = tmp_path / "x" / tiny_base.name
    shutil.copytree(tiny_base, other)
    data = clue_files.write_clue(tmp_path / "clue", ["afqmc"])
    result, text = run(tiny_base, data, tmp_path / "out", "-m", str(other), "--tasks", "afqmc")
    assert result.exit_code == 1 and has(text, "name them with --model NAME=PATH")


def test_unloadable_model_is_a_config_error(tmp_path: Path) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["afqmc"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", encoding="utf-8")
    result, text = run(tmp_path / "empty", data, tmp_path / "out", "--tasks", "afqmc")
    assert result.exit_code == 1 and has(text, "could not load the model")


def test_models_as_arguments_and_no_model_at_all(tiny_base: Path, tmp_path: Path) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["afqmc"])
    result = CliRunner().invoke(app, ["eval", str(tiny_base), "--data-dir", str(data), "-o", str(tmp_path / "o"), *FAST])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / tiny_base.name / "submission" / "afqmc_predict.json").is_file()
    result = CliRunner().invoke(app, ["eval", "--data-dir", str(data)])
    assert result.exit_code == 1 and has(result.output, "no model given")
