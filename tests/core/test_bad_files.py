"""Bad inputs and unwritable outputs: one table of what is wrong and the one line each must print.

Every case runs the real CLI and checks exit code 1, no traceback, no bare "Aborted!", and the
message (whitespace ignored: rich wraps long paths).
"""

from __future__ import annotations

import errno
import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tinyzh.io
import tinyzh.lock
from tests import tiny
from tests.pregen import helpers
from tests.tasks import clue_files
from tinyzh.cli import app


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tokenizer, a tiny teacher / classifier, a corpus, a pregen output, a task file, CLUE data."""
    from tinyzh.pregen import PregenConfig, run_pregen

    root = tmp_path_factory.mktemp("bad")
    vocab = tiny.write_vocab(root / "vocab")
    teacher = tiny.save_tiny_bert(root / "teacher", vocab, kind="mlm", layers=2, hidden=32)
    corpus = helpers.write_corpus(root / "corpus.txt", helpers.documents(12, seed=1))
    run_pregen(PregenConfig(corpus=[corpus], output=root / "pregen", tokenizer=str(vocab), max_seq_len=32,
                            workers=1))
    student = root / "student.json"
    student.write_text(json.dumps(tiny.tiny_bert_config(len(tiny.vocab_tokens()), layers=1, hidden=32).to_dict()), encoding="utf-8")
    train = root / "train.json"
    train.write_text(json.dumps({"sentence1": "今天很好", "sentence2": "很好", "label": "neutral"},
                                ensure_ascii=False) + "\n", encoding="utf-8")
    return {"root": root, "vocab": vocab, "teacher": teacher, "corpus": corpus, "pregen": root / "pregen",
            "student": student, "train": train, "clue": clue_files.write_clue(root / "clue", ["afqmc"])}


def pregen(f: dict[str, Path], corpus: Path, out: Path) -> list[str]:
    return ["pregen", str(corpus), "-o", str(out), "--tokenizer", str(f["vocab"]), "--workers", "1", "--quiet"]


def distill(f: dict[str, Path], out: Path, data: Path | None = None, teacher: Path | None = None) -> list[str]:
    return ["distill", "--data", str(data or f["pregen"]), "--output", str(out), "--teacher", str(teacher or f["teacher"]),
            "--student", str(f["student"]), "--batch-size", "2", "--max-steps", "2", "--logging-steps", "1",
            "--workers", "0", "--no-progress"]


def augment(f: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["augment", "--task", "ocnli", "--input", str(f["train"]), "--output", str(out), *extra]


def evaluate(f: dict[str, Path], out: Path, model: Path | None = None) -> list[str]:
    return ["eval", "-m", str(model or f["teacher"]), "--tasks", "afqmc", "--data-dir", str(f["clue"]), "-o", str(out),
            "--epochs", "1", "--batch-size", "4", "--max-seq-len", "32"]


def damaged_copy(source: Path, target: Path, how: str) -> Path:
    """A copy of a model directory whose model.safetensors is cut in half or random bytes."""
    import shutil

    shutil.copytree(source, target)
    weights = target / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if how == "truncated" else bytes(range(256)) * 8)
    return target


# Each case: (files, tmp) -> (argv, expected message)
Case = Callable[[dict[str, Path], Path], tuple[list[str], str]]


def truncated_gz(f, tmp):
    blob = gzip.compress(f["corpus"].read_bytes())
    (tmp / "c.txt.gz").write_bytes(blob[: len(blob) // 2])
    return pregen(f, tmp / "c.txt.gz", tmp / "o"), "c.txt.gz: cannot be read beyond line 0 (EOFError"


def gbk_corpus(f, tmp):
    (tmp / "gbk.txt").write_bytes("今天天气很好。\n我们去北京。\n\n手机的质量不错。\n价格也便宜。\n".encode("gbk"))
    return pregen(f, tmp / "gbk.txt", tmp / "o"), "gbk.txt:1: not UTF-8: byte 0xbd at position 0"


def output_is_a_file(f, tmp):
    (tmp / "taken").write_text("x", encoding="utf-8")
    return pregen(f, f["corpus"], tmp / "taken"), "--output " + str(tmp / "taken") + " is a file, but a directory"


def truncated_shard(f, tmp):
    import shutil

    shutil.copytree(f["pregen"], tmp / "pregen")
    shard = sorted((tmp / "pregen").glob("shard-*.bin"))[0]
    shard.write_bytes(shard.read_bytes()[:-40])
    return distill(f, tmp / "o", data=tmp / "pregen"), f"{shard.name}: damaged pregen shard:"


def truncated_teacher(f, tmp):
    teacher = damaged_copy(f["teacher"], tmp / "teacher", "truncated")
    return distill(f, tmp / "o", teacher=teacher), "the weights file is damaged or incomplete"


def random_bytes_eval_model(f, tmp):
    model = damaged_copy(f["teacher"], tmp / "model", "random")
    return evaluate(f, tmp / "o", model=model), "could not load the model"


def augment_into_a_directory(f, tmp):
    (tmp / "dir").mkdir()
    return augment(f, tmp / "dir", "--overwrite"), f"--output {tmp / 'dir'} is a directory, but a file is expected"


@pytest.mark.parametrize("case", [truncated_gz, gbk_corpus, output_is_a_file, truncated_shard, truncated_teacher,
                                  random_bytes_eval_model, augment_into_a_directory], ids=lambda c: c.__name__)
def test_bad_input_is_one_line(files: dict[str, Path], tmp_path: Path, case: Case) -> None:
    argv, expected = case(files, tmp_path)
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output
    assert flat(expected) in flat(result.output), result.output


def _enospc(handle, data):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("command", ["pregen", "distill", "augment", "eval"])
def test_disk_full_names_the_file_and_the_bytes(files: dict[str, Path], tmp_path: Path, command: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / ("out.json" if command == "augment" else "out")
    argv = {"pregen": pregen(files, files["corpus"], out), "distill": distill(files, out),
            "augment": augment(files, out), "eval": evaluate(files, out)}[command]
    monkeypatch.setattr(tinyzh.io, "_raw_write", _enospc)
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1, result.output
    text = flat(result.output)
    assert "Traceback" not in result.output
    assert flat(f"error: {out}") in text and flat("the disk is full while writing") in text
    assert flat("bytes (No space left on device); free at least that much space") in text


def test_read_only_output_is_one_line(files: dict[str, Path], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod does not stop root, so the first write into the output (its lock) fails as on a ro mount.
    def read_only(path, owner):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tinyzh.lock, "_create", read_only)
    result = CliRunner().invoke(app, pregen(files, files["corpus"], tmp_path / "out"))
    assert result.exit_code == 1
    assert flat(f"error: {tmp_path / 'out'}: cannot write here (Read-only file system); choose a writable --output") \
        in flat(result.output)


def test_a_full_disk_the_library_did_not_name_is_still_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    from tinyzh.commands import plugins as plugins_command

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.bin"))

    monkeypatch.setattr(plugins_command.registry, "registry", full)
    result = CliRunner().invoke(app, ["plugins"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert flat(f"error: {tmp_path / 'x.bin'}: the disk is full") in flat(result.output)
