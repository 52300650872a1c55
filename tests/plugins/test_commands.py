"""The real commands use third-party plugins: ``augment --augmenter s2t`` and ``eval --tasks lcqmc``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.plugins.conftest import write_dist_info
from tinyzh.cli import app

PAIRS = [
    ("今天天气怎么样", "今天的天气如何", "1"),
    ("这个手机多少钱", "这个手机的价格是多少", "1"),
    ("我想学习英语", "明天会下雨吗", "0"),
    ("哪里可以买到便宜的书", "电脑开不了机怎么办", "0"),
]


def _lcqmc_dir(root: Path) -> Path:
    task = root / "lcqmc"
    task.mkdir(parents=True)
    rows = [{"sentence1": a, "sentence2": b, "label": y} for a, b, y in PAIRS]
    for split in ("train", "dev"):
        (task / f"{split}.json").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (task / "test.json").write_text("".join(f"{a}\t{b}\n" for a, b, _ in PAIRS), encoding="utf-8")  # TSV, unlabelled
    return root


def test_augment_with_plugin_task_and_plugin_augmenter(installed_plugins: Path, tmp_path: Path) -> None:
    pytest.importorskip("opencc")
    data = _lcqmc_dir(tmp_path / "data")
    out = tmp_path / "aug.json"
    args = ["augment", "--task", "lcqmc", "--input", str(data / "lcqmc" / "train.json"), "--output", str(out)]
    result = CliRunner().invoke(app, [*args, "--augmenter", "s2t", "--num-aug", "1", "--p", "1.0"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    texts = {r["sentence1"] for r in rows}
    assert "今天天气怎么样" in texts  # the original is kept
    assert any("氣" in t or "麼" in t or "樣" in t for t in texts)  # and a traditional copy was written
    assert all(set(r) >= {"sentence1", "sentence2", "label"} for r in rows)


def test_eval_runs_a_plugin_task(installed_plugins: Path, tmp_path: Path, vocab_dir: Path) -> None:
    from tests import tiny

    model = tiny.save_tiny_bert(tmp_path / "student", vocab_dir, kind="base", layers=1, hidden=32)
    data = _lcqmc_dir(tmp_path / "data")
    out = tmp_path / "results"
    args = ["eval", str(model), "--tasks", "lcqmc", "--data-dir", str(data), "--output", str(out)]
    result = CliRunner().invoke(app, [*args, "--epochs", "1", "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    submission = out / "student" / "submission" / "lcqmc_predict.json"
    predictions = [json.loads(line) for line in submission.read_text(encoding="utf-8").splitlines()]
    assert [p["id"] for p in predictions] == [0, 1, 2, 3] and {p["label"] for p in predictions} <= {"0", "1"}


def test_eval_reports_a_broken_plugin_in_one_line(fake_site: Path, tmp_path: Path, vocab_dir: Path) -> None:
    (fake_site / "tinyzh_raises.py").write_text("import tinyzh_missing_dependency\n", encoding="utf-8")
    write_dist_info(fake_site, "tinyzh-raises", "0.1", {"tinyzh.tasks": {"raises": "tinyzh_raises:Task"}})
    result = CliRunner().invoke(
        app, ["eval", str(vocab_dir), "--tasks", "raises", "--data-dir", str(tmp_path), "--output", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    text = " ".join(result.output.split())  # one message; rich wraps it at the terminal width
    assert text.count("error:") == 1 and "Traceback" not in text, result.output
    assert (
        "error: task plugin 'raises' is broken: failed to import tinyzh_raises:Task: ModuleNotFoundError"
        in text
    )
