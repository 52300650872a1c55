"""Every input of an ``eval`` run is checked before the first step: one line naming file and line."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tasks import clue_files
from tinyzh.cli import app
from tinyzh.errors import InputError
from tinyzh.tasks.data import load_split

FAST = ["--epochs", "1", "--batch-size", "4", "--max-seq-len", "32"]
GBK_ROW = json.dumps({"id": 9, "sentence1": "喜欢", "sentence2": "质量", "label": "1"}, ensure_ascii=False)


def run(model: Path, data: Path, out: Path, *extra: str):
    result = CliRunner().invoke(app, ["eval", "-m", str(model), "--data-dir", str(data), "-o", str(out), *FAST, *extra])
    return result, "".join(result.output.split())  # rich wraps long lines anywhere


def _append_bytes(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def _gbk_train(d: Path) -> None:
    _append_bytes(d / "afqmc_public" / "train.json", GBK_ROW.encode("gbk") + b"\n")


def _bad_utf8_dev(d: Path) -> None:
    _append_bytes(d / "afqmc_public" / "dev.json", b'{"id": 9, "sentence1": "\xff\xfe"}\n')


def _empty_test(d: Path) -> None:
    (d / "afqmc_public" / "test.json").write_text("\n", encoding="utf-8")


def _empty_train(d: Path) -> None:
    (d / "afqmc_public" / "train.json").write_text("", encoding="utf-8")


def _duplicate_test_id(d: Path) -> None:
    rows = clue_files.rows("afqmc", "test")
    rows[2]["id"] = 0
    clue_files.write_jsonl(d / "afqmc_public" / "test.json", rows)


def _missing_test_id(d: Path) -> None:
    rows = clue_files.rows("afqmc", "test")
    del rows[1]["id"]
    clue_files.write_jsonl(d / "afqmc_public" / "test.json", rows)


def _bad_label_in_second_task(d: Path) -> None:
    rows = clue_files.rows("tnews", "dev")
    rows[1]["label"] = "105"
    clue_files.write_jsonl(d / "tnews" / "dev.json", rows)


BAD_INPUTS: list[tuple[str, Callable[[Path], None], str]] = [
    ("gbk", _gbk_train, "afqmc_public/train.json:5: not UTF-8 (byte "),
    ("gbk-fix", _gbk_train, "it looks GBK-encoded; convert the file to UTF-8, e.g. iconv -f GBK -t UTF-8"),
    ("invalid-utf8", _bad_utf8_dev, "afqmc_public/dev.json:5: not UTF-8 (byte "),
    ("empty-test", _empty_test, "afqmc_public/test.json: holds no afqmc examples; fill it or remove it"),
    ("empty-train", _empty_train, "afqmc_public/train.json: holds no afqmc examples; fill it"),
    ("duplicate-id", _duplicate_test_id, "afqmc_public/test.json:3: duplicate test id 0 (also on line 1)"),
    ("missing-id", _missing_test_id, "afqmc_public/test.json:2: this row has no id (id or idx) but line 1 has one"),
    ("second-task", _bad_label_in_second_task, "tnews/dev.json:2: label '105' is not a tnews label"),
]


@pytest.mark.parametrize(("spoil", "message"), [(s, m) for _, s, m in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS])
def test_bad_input_stops_the_run_before_any_training(
    tiny_base: Path, tmp_path: Path, spoil: Callable[[Path], None], message: str
) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["afqmc", "tnews"])
    spoil(data)
    result, text = run(tiny_base, data, tmp_path / "out", "--tasks", "afqmc,tnews")
    assert result.exit_code == 1, result.output
    assert text.count("error:") == 1 and "Traceback" not in text
    assert "".join(message.split()) in text, result.output
    assert not (tmp_path / "out" / tiny_base.name / "pairs").exists()  # nothing was trained


def test_undecodable_file_of_a_plugin_that_opens_files_itself(tmp_path: Path) -> None:
    class TextModeTask:
        name = "textmode"

        def read_examples(self, path, split):
            with open(path, encoding="utf-8") as handle:
                yield from handle

    path = tmp_path / "train.json"
    path.write_bytes(b"ok\n" + GBK_ROW.encode("gbk") + b"\n")
    with pytest.raises(InputError, match=r"train.json:2: not UTF-8 \(byte 2[0-9] of the file\); it looks GBK"):
        load_split(path, TextModeTask(), "train")


def test_distill_task_stage_reports_a_gbk_dev_file(tmp_path: Path, vocab_dir: Path) -> None:
    from tinyzh import plugins
    from tinyzh.distill.data import task_data
    from tinyzh.hf import load_hf_tokenizer

    data = clue_files.write_clue(tmp_path / "clue", ["afqmc"])
    _append_bytes(data / "afqmc_public" / "dev.json", GBK_ROW.encode("gbk") + b"\n")
    with pytest.raises(InputError, match="dev.json:5: not UTF-8"):
        task_data(str(data / "afqmc_public" / "train.json"), plugins.get_task("afqmc"), load_hf_tokenizer(str(vocab_dir)), 32, None)


def test_empty_text_is_a_counted_warning_and_the_zip_holds_the_files_written(tiny_base: Path, tmp_path: Path) -> None:
    data = clue_files.write_clue(tmp_path / "clue", ["afqmc", "tnews"])
    rows = clue_files.rows("tnews", "test")
    rows[1]["sentence"] = ""
    clue_files.write_jsonl(data / "tnews" / "test.json", rows)
    result, text = run(tiny_base, data, tmp_path / "out", "--tasks", "afqmc,tnews")
    assert result.exit_code == 0, result.output
    assert "1of4testrowshaveanemptytext(lines2)" in text
    pair = json.loads((tmp_path / "out" / tiny_base.name / "pairs" / "tnews.json").read_text(encoding="utf-8"))
    assert any("empty text" in w for w in pair["warnings"]) and pair["n_test"] == 4
    submission = tmp_path / "out" / tiny_base.name / "submission"
    (submission / "stale_predict.json").write_text("from another run\n", encoding="utf-8")  # not written by this run
    result, _ = run(tiny_base, data, tmp_path / "out", "--tasks", "afqmc,tnews")
    with zipfile.ZipFile(tmp_path / "out" / tiny_base.name / "submission.zip") as archive:
        assert archive.namelist() == ["afqmc_predict.json", "tnews11_predict.json"]
