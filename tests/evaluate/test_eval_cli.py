"""``tinyzh eval`` end to end on tiny CLUE files and a tiny BERT: submissions, resume, --no-train, errors."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tasks import clue_files
from tinyzh import plugins
from tinyzh.cli import app

ALL = list(clue_files.TASK_DIRS)
FAST = ["--epochs", "1", "--batch-size", "4", "--lr", "1e-3", "--max-seq-len", "48"]


@pytest.fixture(scope="module")
def clue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clue_files.write_clue(tmp_path_factory.mktemp("clue"))


def invoke(*args: str):
    return CliRunner().invoke(app, ["eval", *args])


def flat(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path, clue_dir: Path) -> tuple[Path, object]:
    """One run over all seven tasks with --save-models, shared by the tests below."""
    out = tmp_path_factory.mktemp("out")
    result = invoke("-m", f"tiny={tiny_base}", "--tasks", ",".join(ALL), "--data-dir", str(clue_dir),
                    "-o", str(out), "--save-models", "--threads", "1", *FAST)
    return out, result


def test_all_seven_tasks_write_exact_submission_files(full_run, clue_dir: Path) -> None:
    out, result = full_run
    assert result.exit_code == 0, result.output
    submission = out / "tiny" / "submission"
    assert sorted(p.name for p in submission.iterdir()) == sorted(clue_files.SUBMISSION_FILES.values())
    for name in ALL:
        task = plugins.get_task(name)
        lines = (submission / task.submission_file).read_text(encoding="utf-8").splitlines()
        test_rows = clue_files.rows(name, "test")
        expected_ids = [r.get("id", r.get("idx", i)) for i, r in enumerate(test_rows)]
        records = [json.loads(line) for line in lines]
        assert [r["id"] for r in records] == expected_ids, name  # same ids, same order, same JSON types
        assert all(set(r) == {"id", "label"} and isinstance(r["label"], str) for r in records)
        assert all(r["label"] in task.labels for r in records), name
    with zipfile.ZipFile(out / "tiny" / "submission.zip") as archive:
        assert sorted(archive.namelist()) == sorted(clue_files.SUBMISSION_FILES.values())


def test_results_files_table_and_pair_records(full_run) -> None:
    out, result = full_run
    assert "tinyzh eval" in result.output and "cluewsc2020" in result.output
    summary = json.loads((out / "results.json").read_text())
    (row,) = summary["models"]
    assert row["model"] == "tiny" and row["parameters"] > 0 and row["examples_per_s"] > 0
    assert all(0 <= row[t] <= 100 for t in ALL)
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header == "model," + ",".join(ALL) + ",average,parameters,examples_per_s"
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"
    ocnli = json.loads((out / "tiny" / "pairs" / "ocnli.json").read_text())
    assert ocnli["skipped_rows"] == {"train": 1, "dev": 1} and ocnli["n_train"] == 4 and ocnli["n_dev"] == 4
    csl = json.loads((out / "tiny" / "pairs" / "csl.json").read_text())
    assert csl["settings"]["max_seq_len"] == 48


def test_saved_models_carry_task_labels_and_no_train_reproduces_dev_scores(full_run, clue_dir: Path, tmp_path: Path) -> None:
    out, _ = full_run
    saved = out / "tiny" / "models"
    config = json.loads((saved / "tnews" / "config.json").read_text())
    assert list(config["id2label"].values()) == list(plugins.get_task("tnews").labels)
    assert (saved / "tnews" / "tokenizer.json").is_file() or (saved / "tnews" / "vocab.txt").is_file()
    again = tmp_path / "again"
    result = invoke("-m", f"student={saved}", "--tasks", ",".join(ALL), "--data-dir", str(clue_dir),
                    "-o", str(again), "--no-train", "--max-seq-len", "48")
    assert result.exit_code == 0, result.output
    for name in ALL:
        first = json.loads((out / "tiny" / "pairs" / f"{name}.json").read_text())
        second = json.loads((again / "student" / "pairs" / f"{name}.json").read_text())
        assert second["dev_score"] == pytest.approx(first["dev_score"]), name
        assert second["n_train"] == 0
        same = (again / "student" / "submission" / first["submission"]).read_text()
        assert same == (out / "tiny" / "submission" / first["submission"]).read_text(), name


def test_no_train_rejects_a_checkpoint_fine_tuned_for_other_labels(full_run, clue_dir: Path, tmp_path: Path) -> None:
    out, _ = full_run
    result = invoke("-m", str(out / "tiny" / "models" / "tnews"), "--tasks", "afqmc", "--data-dir", str(clue_dir),
                    "-o", str(tmp_path), "--no-train")
    assert result.exit_code == 1 and "was fine-tuned for other labels" in flat(result)


def test_rerun_skips_finished_pairs_and_force_reruns_them(tiny_base: Path, clue_dir: Path, tmp_path: Path) -> None:
    args = ["-m", str(tiny_base), "--tasks", "afqmc,tnews", "--data-dir", str(clue_dir), "-o", str(tmp_path), *FAST]
    assert invoke(*args).exit_code == 0
    pair = tmp_path / tiny_base.name / "pairs" / "afqmc.json"
    stamp = pair.stat().st_mtime_ns
    second = invoke(*args)
    assert second.exit_code == 0 and flat(second).count("finished earlier, skipped") == 2
    assert pair.stat().st_mtime_ns == stamp
    changed = invoke(*args, "--lr", "1.5e-3")  # other settings: not the same result, so rerun
    assert changed.exit_code == 0 and "skipped" not in changed.output and pair.stat().st_mtime_ns != stamp
    forced = invoke(*args, "--force")
    assert forced.exit_code == 0 and "skipped" not in forced.output
    copy = shutil.copytree(tiny_base, tmp_path / "elsewhere")  # same output name, another model: rerun
    moved = invoke(*args, "-m", f"{tiny_base.name}={copy}")
    assert moved.exit_code == 1 and "share the output folder" in flat(moved)  # both given: a clash
    args[1] = f"{tiny_base.name}={copy}"
    assert "skipped" not in invoke(*args).output  # same settings as the forced run, other model path


def test_same_seed_gives_identical_results(tiny_base: Path, clue_dir: Path, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        assert invoke("-m", f"{name}={tiny_base}", "--tasks", "ocnli", "--data-dir", str(clue_dir),
                      "-o", str(tmp_path), *FAST).exit_code == 0
        pair = json.loads((tmp_path / name / "pairs" / "ocnli.json").read_text())
        runs.append((pair["train_loss"], pair["dev_score"],
                     (tmp_path / name / "submission" / "ocnli_50k_predict.json").read_text()))
    assert runs[0] == runs[1]
