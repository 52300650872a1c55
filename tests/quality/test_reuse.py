"""``--tasks``, ``--reuse RUN_DIR`` and ``--only`` of the quality benchmark, on the tiny setting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import quality
from quality_setup import PRETRAINED

from tinyzh.errors import ConfigError


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _argv(data: Path, work: Path, results: Path, *more: str) -> list[str]:
    return ["--size", "tiny", "--data", str(data), "--work", str(work), "--results", str(results), "--threads", "1",
            *more]  # fmt: skip


def test_reuse_takes_the_fine_tuned_teachers_of_a_subset_of_tasks(
    tiny_run: Path, data_with_e5: Path, tmp_path: Path
) -> None:
    earlier, work = tiny_run.parent / "work", tmp_path / "work"
    argv = _argv(data_with_e5, work, tmp_path / "results", "--tasks", "ocnli,tnews", "--reuse", str(earlier),
                 "--seed", "1", "--set", "init_from_teacher=true")  # fmt: skip
    assert quality.main(argv) == 0
    report, before = _read(tmp_path / "results" / "results.json"), _read(tiny_run / "results.json")
    assert list(report["tasks"]) == ["tnews", "ocnli"]  # TASKS order, iflytek not run
    assert report["config"]["tasks"] == ["tnews", "ocnli"] and report["config"]["seed"] == 1
    assert report["reused"] == {"from": str(earlier), "seed": 0, "teachers_from": str(earlier), "teachers_seed": 0,
                                "parts": ["fine-tuned teachers and their dev scores"]}  # fmt: skip
    assert not any(name.startswith("teacher-finetune") for name in report["seconds"])
    for task in ("tnews", "ocnli"):
        assert not (work / task / "finetune").exists()  # no fine-tuning in this run
        teacher = report["tasks"][task]["models"]["teacher"]
        assert teacher["accuracy"] == before["tasks"][task]["models"]["teacher"]["accuracy"]
        assert teacher["rescored_accuracy"] == pytest.approx(teacher["accuracy"], abs=1 / 16)  # 16 dev rows
        distilled = _read(work / task / "student" / "distill_config.json")
        assert distilled["teacher"] == str(earlier / task / "finetune" / "teacher" / "models" / task)
        assert set(report["tasks"][task]["models"]) == {"teacher", "student", "baseline_general", "baseline_random"}
    general = _read(work / "tnews" / "student-general" / "distill_config.json")
    assert general["teacher"] == str(data_with_e5 / PRETRAINED)  # general distillation keeps the pretrained e5
    assert general["init_from_teacher"] is True
    markdown = (tmp_path / "results" / "results.md").read_text(encoding="utf-8")
    assert f"Reused from {earlier} (seed 0), not made in this run: fine-tuned teachers" in markdown
    assert "| iflytek |" not in markdown and "| ocnli | student" in markdown


def test_only_baselines_trains_on_the_reused_augmented_sets_and_general_student(
    tiny_run: Path, data_with_e5: Path, tmp_path: Path
) -> None:
    earlier, work = tiny_run.parent / "work", tmp_path / "work"
    argv = _argv(data_with_e5, work, tmp_path / "results", "--reuse", str(earlier), "--only", "baselines",
                 "--seed", "2", "--tasks", "ocnli")  # fmt: skip
    assert quality.main(argv) == 0
    report = _read(tmp_path / "results" / "results.json")
    assert report["only"] == "baselines" and report["parameter_ratio"] is None
    assert report["reused"]["parts"] == ["augmented sets", "general student"]
    result = report["tasks"]["ocnli"]
    assert set(result["models"]) == {"baseline_general", "baseline_random"} and result["retention"] is None
    augmented = earlier / "ocnli" / "augment" / "train.json"
    assert result["n_train_augmented"] == len(augmented.read_text(encoding="utf-8").splitlines())
    assert (work / "data-augmented" / "ocnli" / "train.json").read_bytes() == augmented.read_bytes()
    pairs = _read(work / "baselines" / "baseline_general" / "pairs" / "ocnli.json")
    assert pairs["settings"]["model_path"] == str(earlier / "tnews" / "student-general")
    assert pairs["settings"]["seed"] == 2
    assert not (work / "ocnli").exists() and set(report["seconds"]) == {"data", "baselines", "speed"}
    markdown = (tmp_path / "results" / "results.md").read_text(encoding="utf-8")
    assert "Baselines only (seed 2)" in markdown and "| ocnli | baseline: random-init" in markdown
    assert "| ocnli | teacher" not in markdown


def test_baselines_picks_which_no_teacher_baselines_run(tiny_run: Path, data_with_e5: Path, tmp_path: Path) -> None:
    earlier, work = tiny_run.parent / "work", tmp_path / "work"
    argv = _argv(data_with_e5, work, tmp_path / "results", "--reuse", str(earlier), "--only", "baselines",
                 "--baselines", "random", "--tasks", "ocnli", "--set", "prediction_epochs=2")  # fmt: skip
    assert quality.main(argv) == 0
    result = _read(tmp_path / "results" / "results.json")["tasks"]["ocnli"]
    assert set(result["models"]) == {"baseline_random"}
    assert not (work / "baselines" / "baseline_general").exists()
    assert result["baseline_passes"] == 1 + 2  # tiny: 1 intermediate epoch, then the 2 prediction epochs set
    with pytest.raises(ConfigError, match="--baselines 'teacher': expected a comma-separated subset"):
        quality.main(_argv(data_with_e5, tmp_path / "w2", tmp_path / "r2", "--baselines", "teacher"))


def test_the_scratch_teacher_is_reused_with_its_masked_lm_teacher_and_passed_on(
    data_with_e5: Path, tmp_path: Path
) -> None:
    """Four runs of one task without baselines: made here, reused, then reused from each reusing run in
    turn (a chain of three links still finds the teachers at its start)."""
    runs = [tmp_path / f"run{i}" for i in range(4)]
    for i, run in enumerate(runs):
        more = ["--teacher", "scratch", "--tasks", "ocnli", "--only", "recipe", "--seed", str(i)]
        more += ["--reuse", str(runs[i - 1] / "work")] if i else []
        assert quality.main(_argv(data_with_e5, run / "work", run / "results", *more)) == 0
    first, last = _read(runs[0] / "results" / "results.json"), _read(runs[3] / "results" / "results.json")
    assert "teacher-pretrain" in first["seconds"] and "teacher-pretrain" not in last["seconds"]
    assert last["teacher_mlm_loss"] == first["teacher_mlm_loss"] > 0  # read from the run that trained it
    origin = runs[0] / "work"
    assert last["reused"]["from"] == str(runs[2] / "work") and last["reused"]["teachers_from"] == str(origin)
    assert (last["reused"]["seed"], last["reused"]["teachers_seed"]) == (2, 0)
    assert "masked-LM teacher" in last["reused"]["parts"]
    work = runs[3] / "work" / "ocnli"
    assert _read(work / "student-general" / "distill_config.json")["teacher"] == str(origin / "ocnli" / "teacher-mlm")
    assert _read(work / "student" / "distill_config.json")["teacher"] == str(
        origin / "ocnli" / "finetune" / "teacher" / "models" / "ocnli")
    assert set(last["tasks"]["ocnli"]["models"]) == {"teacher", "student"}
    markdown = (runs[3] / "results" / "results.md").read_text(encoding="utf-8")
    assert "no baselines run (--only recipe)" in markdown and "Baselines train" not in markdown
    assert f"(which took them from {origin})" in markdown


def _copy_config(tiny_run: Path, target: Path, **changes: Any) -> Path:
    config = {**_read(tiny_run.parent / "work" / "quality_config.json"), **changes}
    target.mkdir(parents=True)
    (target / "quality_config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("more", "message"),
    [
        (["--set", 'pretrained_finetune_epochs={"tnews": 2.0, "ocnli": 1.0, "iflytek": 1.0}'],
         r"has pretrained_finetune_epochs \{\"tnews\": 1.0, .*this run \{\"tnews\": 2.0.*--set pretrained_finetune_epochs"),
        (["--set", "max_train=20"], "has max_train 24, this run 20"),
        (["--teacher", "scratch"], "has teacher '.*multilingual-e5-small-zh', this run 'scratch'; reuse needs the same teacher"),
        (["--only", "baselines", "--set", "general_steps=3"], "has general_steps 2, this run 3"),
        (["--only", "baselines", "--set", 'hidden_loss="normalised"'],  # a later setting the earlier run lacks
         'has hidden_loss null, this run "normalised"'),
    ],
)  # fmt: skip
def test_reuse_refuses_a_run_whose_settings_would_make_it_wrong(
    tiny_run: Path, data_with_e5: Path, tmp_path: Path, more: list[str], message: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "quality_config.json").write_text("{}", encoding="utf-8")  # an earlier run's folder: not emptied
    argv = _argv(data_with_e5, work, tmp_path / "results", "--reuse", str(tiny_run.parent / "work"), *more)
    with pytest.raises(ConfigError, match=message):
        quality.main(argv)
    assert (work / "quality_config.json").read_text(encoding="utf-8") == "{}"


def test_other_refusals_name_the_problem(tiny_run: Path, data_with_e5: Path, tmp_path: Path) -> None:
    def refused(reuse: Path, *more: str) -> str:
        with pytest.raises(ConfigError) as caught:
            quality.main(_argv(data_with_e5, tmp_path / "work", tmp_path / "r", "--reuse", str(reuse), *more))
        return str(caught.value)

    assert "no quality_config.json there" in refused(tmp_path)
    one_task = _copy_config(tiny_run, tmp_path / "one", tasks=["tnews"])
    assert "that run has no ocnli; give --tasks tnews or fewer" in refused(one_task, "--tasks", "ocnli")
    assert "one/tnews/finetune/teacher/models/tnews/config.json is missing" in refused(one_task)
    other_data = _copy_config(tiny_run, tmp_path / "data-run", data=str(tmp_path))
    assert f"has data '{tmp_path}'" in refused(other_data)
    baselines_only = _copy_config(tiny_run, tmp_path / "b", only="baselines", reuse="/elsewhere")
    assert "made only baselines" in refused(baselines_only, "--only", "baselines")
    assert "this run's --work folder" in refused(tmp_path / "work")
    _copy_config(tiny_run, tmp_path / "loop-a", reuse=str(tmp_path / "loop-b"))
    _copy_config(tiny_run, tmp_path / "loop-b", reuse=str(tmp_path / "loop-a"))  # hand-edited configs
    assert "reuse each other in a loop" in refused(tmp_path / "loop-a")
    _copy_config(tiny_run, tmp_path / "link", reuse=str(tmp_path / "gone"))
    assert f"--reuse {tmp_path / 'gone'}: no quality_config.json there" in refused(tmp_path / "link")
    with pytest.raises(ConfigError, match="--only baselines needs --reuse RUN_DIR"):
        quality.main(_argv(data_with_e5, tmp_path / "work", tmp_path / "r", "--only", "baselines"))
    with pytest.raises(ConfigError, match="--tasks 'afqmc': expected a comma-separated subset of tnews,ocnli"):
        quality.main(_argv(data_with_e5, tmp_path / "work", tmp_path / "r", "--tasks", "afqmc"))


def test_the_script_prints_a_refusal_as_one_line(
    tiny_run: Path, data_with_e5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(data_with_e5, tmp_path / "work", tmp_path / "r", "--reuse", str(tmp_path / "nowhere"))
    assert quality.cli(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --reuse ") and err.count("\n") == 1


def test_augment_unlabeled_gives_the_unlabelled_rows_copies(
    tiny_run: Path, data_with_e5: Path, tmp_path: Path
) -> None:
    earlier, work = tiny_run.parent / "work", tmp_path / "work"
    argv = _argv(data_with_e5, work, tmp_path / "results", "--reuse", str(earlier), "--only", "recipe",
                 "--tasks", "tnews", "--set", "unlabeled=true", "--set", "augment_unlabeled=true")  # fmt: skip
    assert quality.main(argv) == 0
    rows = (work / "data" / "tnews" / "unlabeled.json").read_text(encoding="utf-8").splitlines()
    copies = (work / "tnews" / "augment" / "unlabeled.json").read_text(encoding="utf-8").splitlines()
    assert len(copies) > len(rows) > 0 and not any("label" in json.loads(r) for r in copies)
    assert _read(work / "tnews" / "student" / "distill_summary.json")["unlabelled_rows"] == len(copies)
    assert _read(tmp_path / "results" / "results.json")["tasks"]["tnews"]["n_unlabeled"] == len(copies)
    markdown = (tmp_path / "results" / "results.md").read_text(encoding="utf-8")
    assert f"unlabelled rows and their augmented copies (tnews {len(copies)})" in markdown
    with pytest.raises(ConfigError, match="augment_unlabeled=true augments the unlabelled rows; add --set unl"):
        quality.main(_argv(data_with_e5, tmp_path / "w2", tmp_path / "r2", "--set", "augment_unlabeled=true"))


def test_unlabeled_rows_join_task_distillation_and_leave_the_vocabulary(
    tiny_run: Path, data_with_e5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier, work = tiny_run.parent / "work", tmp_path / "work"
    argv = _argv(data_with_e5, work, tmp_path / "results", "--reuse", str(earlier), "--only", "recipe",
                 "--tasks", "tnews", "--set", "unlabeled=true")  # fmt: skip
    assert quality.main(argv) == 0
    rows = (work / "data" / "tnews" / "unlabeled.json").read_text(encoding="utf-8").splitlines()
    test_rows = (data_with_e5 / "clue" / "tnews" / "test.json").read_text(encoding="utf-8").splitlines()
    assert rows and not any("label" in json.loads(r) for r in rows)
    assert len(rows) == min(len(test_rows), 24)  # tiny: max_train 24
    summary = _read(work / "tnews" / "student" / "distill_summary.json")
    assert summary["unlabelled_rows"] == len(rows)
    assert (work / "vocab" / "vocab.txt").read_bytes() == (earlier / "vocab" / "vocab.txt").read_bytes()
    markdown = (tmp_path / "results" / "results.md").read_text(encoding="utf-8")
    assert f"also saw each task's unlabelled rows (tnews {len(rows)})" in markdown
    # Resumed with the rows already in the data folder: the vocabulary is cut as before, the file is left
    # alone and the task distillation that read it is not run again
    written = (work / "data" / "tnews" / "unlabeled.json").stat().st_mtime_ns
    capsys.readouterr()
    assert quality.main([*argv, "--resume"]) == 0
    assert (work / "vocab" / "vocab.txt").read_bytes() == (earlier / "vocab" / "vocab.txt").read_bytes()
    assert (work / "data" / "tnews" / "unlabeled.json").stat().st_mtime_ns == written
    assert "distill_task: up to date, skipped" in capsys.readouterr().out
