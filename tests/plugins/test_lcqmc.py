"""The tinyzh-lcqmc task plugin: discovery through entry points, both file formats, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinyzh import plugins
from tinyzh.cli import app
from tinyzh.errors import InputError
from tinyzh.protocols import Task

ROWS = [
    {"sentence1": "今天天气怎么样", "sentence2": "今天的天气如何", "label": "1"},
    {"sentence1": "手机充电很慢怎么办", "sentence2": "哪里可以买到便宜的手机", "label": 0},
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_cli_lists_the_installed_task(installed_plugins: Path) -> None:
    result = CliRunner().invoke(app, ["plugins", "--kind", "tasks"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "lcqmc" in line and "tinyzh.tasks" in line)
    assert "tinyzh_lcqmc:Lcqmc" in row and "tinyzh-lcqmc" in row and "0.1.0" in row and "ok" in row


def test_get_task_reads_json_lines(installed_plugins: Path, tmp_path: Path) -> None:
    task = plugins.get_task("lcqmc")
    assert isinstance(task, Task)
    assert type(task).__module__ == "tinyzh_lcqmc"  # the package under plugins/, not a built-in
    examples = list(task.read_examples(_jsonl(tmp_path / "dev.json", ROWS), "dev"))
    assert [ex.texts for ex in examples] == [
        ("今天天气怎么样", "今天的天气如何"),
        ("手机充电很慢怎么办", "哪里可以买到便宜的手机"),
    ]
    assert [ex.label for ex in examples] == ["1", "0"]  # a JSON number label becomes the string
    assert [ex.id for ex in examples] == [0, 1] and [ex.line for ex in examples] == [1, 2]


def test_reads_tsv_with_header_and_unlabelled_test(installed_plugins: Path, tmp_path: Path) -> None:
    task = plugins.get_task("lcqmc")
    train = tmp_path / "train.json"
    train.write_text(
        "text_a\ttext_b\tlabel\n喜欢打篮球的男生\t爱打篮球的男生\t1\n\n我想去北京\t明天会下雨吗\t0\n",
        encoding="utf-8",
    )
    examples = list(task.read_examples(train, "train"))
    assert [(ex.texts, ex.label, ex.line) for ex in examples] == [
        (("喜欢打篮球的男生", "爱打篮球的男生"), "1", 2),
        (("我想去北京", "明天会下雨吗"), "0", 4),
    ]
    test = tmp_path / "test.json"
    test.write_text("这个怎么用\t怎么使用这个\n", encoding="utf-8")
    (example,) = task.read_examples(test, "test")
    assert example.label is None and example.texts == ("这个怎么用", "怎么使用这个")
    # Augmentation output is always the JSON form, whatever the input was.
    assert task.with_texts(example, ["甲", "乙"]) == {"sentence1": "甲", "sentence2": "乙"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"sentence1": "好", "sentence2": "好", "label": "2"}\n',
            r"dev\.json:1: label '2' is not an lcqmc label",
        ),
        (
            '{"sentence1": "好", "label": "1"}\n',
            r"dev\.json:1: field 'sentence2' should be a string, found nothing",
        ),
        ("好\t好\n", r"dev\.json:1: missing label"),
        ('{"sentence1": "好", "sentence2": "好", "label": "1"}\n{"oops"\n', r"dev\.json:2: malformed JSON"),
        ("只有一列\n", r"dev\.json:1: expected a JSON object or 2-3 tab-separated columns"),
    ],
)
def test_bad_lines_name_file_and_line(
    installed_plugins: Path, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "dev.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        list(plugins.get_task("lcqmc").read_examples(path, "dev"))


def test_with_texts_keeps_other_fields(installed_plugins: Path, tmp_path: Path) -> None:
    task = plugins.get_task("lcqmc")
    rows = [dict(ROWS[0], id=7, source="web")]
    (example,) = task.read_examples(_jsonl(tmp_path / "train.json", rows), "train")
    assert example.id == 7
    assert task.with_texts(example, ["天气", "天气呢"]) == {
        "sentence1": "天气",
        "sentence2": "天气呢",
        "label": "1",
        "id": 7,
        "source": "web",
    }


def test_parse_line_skips_the_tsv_header_and_raises_on_bad_lines(installed_plugins: Path, tmp_path: Path) -> None:
    task = plugins.get_task("lcqmc")
    where = {"path": tmp_path / "train.tsv", "index": 0}
    assert task.parse_line("text_a\ttext_b\tlabel\n", "train", line=1, **where) is None
    example = task.parse_line("今天天气怎么样\t今天的天气如何\t1\n", "train", line=2, **where)
    assert example is not None and example.label == "1" and example.line == 2
    with pytest.raises(InputError, match=r"train.tsv:3: expected a JSON object or 2-3 tab-separated columns"):
        task.parse_line("only one column\n", "train", line=3, **where)


def test_augment_reports_bad_lines_of_a_plugin_task_and_goes_on(installed_plugins: Path, tmp_path: Path) -> None:
    source = tmp_path / "train.tsv"
    source.write_text(
        "text_a\ttext_b\tlabel\n今天天气怎么样\t今天的天气如何\t1\nonly one column\n手机充电很慢怎么办\t哪里可以买到便宜的手机\t0\n",
        encoding="utf-8",
    )
    out = tmp_path / "aug.json"
    args = ["augment", "--task", "lcqmc", "--input", str(source), "--output", str(out), "--augmenter", "homophone"]
    result = CliRunner().invoke(app, [*args, "--num-aug", "2"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["label"] for r in rows} == {"0", "1"}  # both good rows made it, the bad one did not
    report = (tmp_path / "aug.json.bad.txt").read_text(encoding="utf-8").splitlines()
    assert report[0] == f"{source}:1: skipped: task 'lcqmc' skips this row on purpose (a header, or OCNLI/CMNLI's '-' label, which has no gold label)"
    assert report[1].startswith(f"{source}:3: expected a JSON object or 2-3 tab-separated columns")
    assert len(report) == 2
