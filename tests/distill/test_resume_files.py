"""What a kill, a damaged file or a moved folder leaves behind, and how the next run copes with it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.distill.conftest import general_config
from tinyzh.cli import app
from tinyzh.distill import run_distill
from tinyzh.distill.trainer import SUMMARY


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def finished(distill_root: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 4-step general run with checkpoints at steps 2 and 4 (copied before each use)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    run_distill(general_config(distill_root, out, max_steps=4, save_steps=2))
    return out


def copy_of(finished: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    return out


def summary(out: Path) -> dict:
    return json.loads((out / SUMMARY).read_text(encoding="utf-8"))


def cli(distill_root: dict[str, Path], out: Path):
    argv = ["distill", "--data", str(distill_root["pregen"]), "--output", str(out), "--teacher",
            str(distill_root["teacher"]), "--student", str(distill_root["student"]), "--batch-size", "4",
            "--max-steps", "4", "--logging-steps", "1", "--save-steps", "2", "--workers", "0", "--lr", "1e-3",
            "--seed", "7", "--no-progress"]
    return CliRunner().invoke(app, argv)


def test_empty_summary_left_by_a_kill_is_rewritten_with_the_final_loss(
        distill_root: dict[str, Path], finished: Path, tmp_path: Path) -> None:
    out = copy_of(finished, tmp_path)
    before = summary(out)
    assert before["final_loss"] is not None
    (out / SUMMARY).write_text("", encoding="utf-8")  # killed while writing it
    result = run_distill(general_config(distill_root, out, max_steps=4, save_steps=2))[0]
    after = summary(out)
    assert result.finished and after["finished"]
    assert after["final_loss"] == pytest.approx(before["final_loss"])
    assert after["final_terms"] == pytest.approx(before["final_terms"])


def test_killed_after_the_last_checkpoint_keeps_the_final_loss(
        distill_root: dict[str, Path], finished: Path, tmp_path: Path) -> None:
    out = copy_of(finished, tmp_path)
    before = summary(out)["final_loss"]
    for name in (SUMMARY, "model.safetensors", "config.json"):  # the final save never happened
        (out / name).unlink()
    result = run_distill(general_config(distill_root, out, max_steps=4, save_steps=2))[0]
    assert result.resumed_from == 4 and result.final_loss == pytest.approx(before)
    assert summary(out)["final_loss"] == pytest.approx(before) and (out / "model.safetensors").is_file()


def test_rerun_of_a_finished_run_keeps_the_final_loss(distill_root: dict[str, Path], finished: Path,
                                                       tmp_path: Path) -> None:
    out = copy_of(finished, tmp_path)
    before = summary(out)["final_loss"]
    run_distill(general_config(distill_root, out, max_steps=4, save_steps=2))
    assert summary(out)["final_loss"] == pytest.approx(before)


def test_temp_files_of_a_killed_save_are_removed(distill_root: dict[str, Path], finished: Path,
                                                 tmp_path: Path) -> None:
    out = copy_of(finished, tmp_path)
    checkpoints = out / "checkpoints"
    (checkpoints / ".step-000006.x1y2").mkdir()
    (checkpoints / ".step-000006.x1y2" / "student.safetensors").write_bytes(b"\0" * 1000)
    (checkpoints / ".latest.json.tmp-99999").write_text("{", encoding="utf-8")
    (out / ".distill_summary.json.tmp-99999").write_text("{", encoding="utf-8")
    run_distill(general_config(distill_root, out, max_steps=4, save_steps=2))
    assert sorted(p.name for p in checkpoints.iterdir()) == ["latest.json", "step-000002", "step-000004"]
    assert not list(out.glob(".*"))  # no temp files, no lock


def test_a_moved_output_resumes(distill_root: dict[str, Path], tmp_path: Path) -> None:
    first = tmp_path / "first"
    run_distill(general_config(distill_root, first, max_steps=4, save_steps=2, stop_after=2))
    moved = tmp_path / "moved"
    first.rename(moved)
    result = run_distill(general_config(distill_root, moved, max_steps=4, save_steps=2))[0]
    assert result.resumed_from == 2 and result.finished


def test_paths_stored_relative_to_the_output_match_after_a_move_with_the_inputs(
        distill_root: dict[str, Path], tmp_path: Path) -> None:
    from tinyzh.distill.config import DistillConfig

    config = DistillConfig(stage="general", data=str(tmp_path / "a" / "data"), output=str(tmp_path / "a" / "out"))
    (tmp_path / "a" / "data").mkdir(parents=True)
    stored = config.stored_dict()
    assert stored["paths_from_output"] == {"data": "../data"}
    (tmp_path / "a").rename(tmp_path / "b")
    moved = DistillConfig(stage="general", data=str(tmp_path / "b" / "data"), output=str(tmp_path / "b" / "out"))
    assert moved.differences(stored) == []
    elsewhere = DistillConfig(stage="general", data=str(tmp_path / "c"), output=str(tmp_path / "b" / "out"))
    assert elsewhere.differences(stored) == ["data"]


def _point_at_missing(out: Path) -> str:
    shutil.rmtree(out / "checkpoints" / "step-000004")
    return "latest.json: names checkpoint step-000004, which is missing or incomplete; to resume from the newest " \
           "complete checkpoint, step-000002, write"


def _truncate_latest(out: Path) -> str:
    (out / "checkpoints" / "latest.json").write_text('{"path": "step-00', encoding="utf-8")
    return "latest.json: damaged (JSONDecodeError"


def _truncate_config(out: Path) -> str:
    (out / "checkpoints" / "step-000004" / "distill_config.json").write_text('{"stage": ', encoding="utf-8")
    return "step-000004/distill_config.json: damaged or unreadable (JSONDecodeError"


def _empty_state(out: Path) -> str:
    (out / "checkpoints" / "step-000004" / "training_state.pt").write_bytes(b"")
    return "could not be loaded (EOFError"


def _pickled_object(out: Path) -> str:
    torch.save({"step": 4, "evil": Path("x")}, out / "checkpoints" / "step-000004" / "training_state.pt")
    return "could not be loaded (UnpicklingError: it holds Python objects, not only tensors, and was refused"


def _truncated_weights(out: Path) -> str:
    weights = out / "checkpoints" / "step-000004" / "student.safetensors"
    weights.write_bytes(weights.read_bytes()[:300])
    return "the weights file is damaged or incomplete"


@pytest.mark.parametrize("damage", [_point_at_missing, _truncate_latest, _truncate_config, _empty_state,
                                    _pickled_object, _truncated_weights])
def test_damaged_checkpoint_files_are_one_line(distill_root: dict[str, Path], finished: Path, tmp_path: Path,
                                               damage) -> None:
    out = copy_of(finished, tmp_path)
    (out / SUMMARY).unlink()  # so the run reads its checkpoints
    expected = damage(out)
    result = cli(distill_root, out)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output
    assert flat(expected) in flat(result.output)
    assert "--no-resume" in result.output


def test_dynamic_masking_follows_distill_seed(distill_root: dict[str, Path], tmp_path: Path) -> None:
    from tinyzh.distill.data import general_data
    from tinyzh.pregen import PregenConfig, run_pregen
    from tinyzh.tokenizers.bert_chinese import BertChineseTokenizer

    corpus = distill_root["root"] / "corpus.txt"
    dynamic = tmp_path / "dynamic"
    run_pregen(PregenConfig(corpus=[corpus], output=dynamic, tokenizer=str(distill_root["teacher"]),
                            max_seq_len=32, masking="dynamic", workers=1))
    tokenizer = BertChineseTokenizer(str(distill_root["teacher"]))

    def masks(seed: int) -> list[list[int]]:
        data = general_data(str(dynamic), tokenizer.vocab_fingerprint(), "t", 0, seed)
        return [data.dataset[i]["masked_lm_positions"].tolist() for i in range(len(data))]

    assert masks(1) == masks(1) and masks(1) != masks(2)
    from tinyzh.distill.distributed import DistEnv
    from tinyzh.distill.phase import build_phase

    phase = build_phase(general_config(distill_root, tmp_path / "o", data=str(dynamic), seed=11), "general",
                        str(distill_root["student"]), DistEnv())
    assert phase.data.dataset.seed == 11
