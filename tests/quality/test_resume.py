"""``--resume``: a run continues where it stopped (finished recipe stages skipped, their times kept), only
a run of the same settings is continued, and the task files keep lines holding Unicode line separators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import quality
from quality_setup import _lines

from tinyzh.errors import ConfigError


def _argv(data: Path, out: Path, *extra: str) -> list[str]:
    return ["--size", "tiny", "--data", str(data), "--work", str(out / "work"), "--results", str(out / "results"),
            "--threads", "1", "--tasks", "tnews", *extra]  # fmt: skip


def test_resume_skips_the_finished_stages_and_keeps_their_times(
    data_with_e5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert quality.main(_argv(data_with_e5, tmp_path)) == 0
    first = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    capsys.readouterr()
    assert quality.main(_argv(data_with_e5, tmp_path, "--resume")) == 0
    log = capsys.readouterr().out
    for stage in ("pregen", "finetune", "distill_general", "augment", "distill_task", "eval"):
        assert f"{stage}: up to date, skipped" in log
    assert "fine-tune the teacher" not in log  # no stage ran again
    again = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    for name in ("teacher-finetune-tnews", "distill-general", "distill-task-tnews"):
        # the state file keeps 2 decimals, the report 1: the same time may round 0.25 -> 0.2 or 0.3
        assert first["seconds"][name] > 0 and again["seconds"][name] == pytest.approx(first["seconds"][name], abs=0.11)
    student = again["tasks"]["tnews"]["models"]["student"]["accuracy"]
    assert student == first["tasks"]["tnews"]["models"]["student"]["accuracy"]


def test_resume_refuses_other_settings_or_a_folder_of_no_run(data_with_e5: Path, tmp_path: Path) -> None:
    assert quality.main(_argv(data_with_e5, tmp_path)) == 0
    with pytest.raises(ConfigError, match=r"--resume: .*quality_config.json differs in seed"):
        quality.main(_argv(data_with_e5, tmp_path, "--resume", "--seed", "1"))
    with pytest.raises(ConfigError, match=r"differs in settings"):
        quality.main(_argv(data_with_e5, tmp_path, "--resume", "--set", "general_steps=3"))
    with pytest.raises(ConfigError, match=r"--resume: .*quality_config.json is missing"):
        quality.main(_argv(data_with_e5, tmp_path / "elsewhere", "--resume"))


def test_task_lines_holding_unicode_line_separators_stay_whole(tmp_path: Path) -> None:
    rows = [{"sentence": "第一行\u2028还是第一行\x85", "label": "1"}, {"sentence": "第二行", "label": "0"}]
    path = tmp_path / "train.json"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert [json.loads(line) for line in _lines(path)] == rows
