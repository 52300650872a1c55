"""The CLUE task plugins: formats, label quirks, errors with file and line, with_texts round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tasks import clue_files
from tinyzh import plugins
from tinyzh.errors import InputError
from tinyzh.protocols import Task, TaskExample
from tinyzh.tasks.base import JsonLinesTask, normalize_label
from tinyzh.tasks.clue import Cluewsc2020, Csl, Ocnli, Tnews, unmark
from tinyzh.tasks.data import find_task_dir, load_split

ALL = list(clue_files.TASK_DIRS)


@pytest.fixture(scope="module")
def clue_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clue_files.write_clue(tmp_path_factory.mktemp("clue"))


@pytest.mark.parametrize("name", ALL)
def test_every_task_loads_through_its_entry_point_and_reads_all_splits(name: str, clue_dir: Path) -> None:
    task = plugins.get_task(name)
    assert isinstance(task, Task)
    assert task.submission_file == clue_files.SUBMISSION_FILES[name]
    directory = find_task_dir(clue_dir, task)
    assert directory.name == clue_files.TASK_DIRS[name]
    for split in ("train", "dev", "test"):
        examples = load_split(directory / f"{split}.json", task, split)
        assert examples, split
        assert all(len(ex.texts) == len(task.text_fields) for ex in examples)
        if split == "test":
            assert all(ex.label is None for ex in examples)
        else:
            assert all(ex.label in task.labels for ex in examples)


def test_number_and_string_labels_normalise_to_the_same_label_strings(clue_dir: Path) -> None:
    task = Tnews()
    train = load_split(clue_dir / "tnews" / "train.json", task, "train")  # labels stored as 100, 102, ...
    dev = load_split(clue_dir / "tnews" / "dev.json", task, "dev")  # labels stored as "100", "102", ...
    assert [ex.label for ex in train] == [ex.label for ex in dev] == ["100", "102", "116", "104"]
    assert normalize_label(7) == "7" and normalize_label(7.0) == "7" and normalize_label(True) == "true"
    assert len(Tnews.labels) == 15 and "105" not in Tnews.labels and "111" not in Tnews.labels
    assert len(plugins.get_task("iflytek").labels) == 119


def test_nli_dash_rows_are_dropped_in_labelled_splits_and_counted(clue_dir: Path) -> None:
    task = Ocnli()
    train = load_split(clue_dir / "ocnli" / "train.json", task, "train")
    assert len(train) == 4 and task.skipped["train"] == 1
    assert [ex.id for ex in train] == [0, 1, 3, 4]  # the "-" row (id 2) is gone, ids kept
    assert train[0].record["genre"] == "news"  # extra fields ride along untouched


def test_test_rows_without_id_get_their_zero_based_index(clue_dir: Path) -> None:
    task = plugins.get_task("cmnli")
    test = load_split(clue_dir / "cmnli" / "test.json", task, "test")
    assert [ex.id for ex in test] == [0, 1, 2, 3, 4]
    tnews = load_split(clue_dir / "tnews" / "test.json", Tnews(), "test")
    assert [ex.id for ex in tnews] == ["0", "1", "2", "3"]  # ids exactly as in the file


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "train.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("third_line", "expected"),
    [
        ('{"sentence": "好", "label": 100', "malformed JSON"),
        ('{"label": 100}', "missing field 'sentence'"),
        ('{"sentence": "好", "label": 105}', "label 105 is not a tnews label"),
        ('{"sentence": "好"}', "missing field 'label'"),
        ('["not", "an", "object"]', "expected a JSON object"),
    ],
)
def test_bad_rows_raise_input_error_naming_file_and_line(tmp_path: Path, third_line: str, expected: str) -> None:
    good = '{"sentence": "好", "label": 100}'
    path = _write(tmp_path, [good, "", third_line])  # blank line 2 is skipped but still counted
    with pytest.raises(InputError) as info:
        list(Tnews().read_examples(path, "train"))
    assert info.value.line == 3 and info.value.path == path
    assert f"{path}:3:" in str(info.value) and expected in str(info.value)


def test_missing_file_and_missing_task_folder_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="tnews train file not found"):
        list(Tnews().read_examples(tmp_path / "nope.json", "train"))
    with pytest.raises(InputError, match="expected one of tnews, tnews_public"):
        find_task_dir(tmp_path, Tnews())


def test_cluewsc_marks_spans_at_their_indices_and_with_texts_inverts_it(clue_dir: Path) -> None:
    task = Cluewsc2020()
    examples = load_split(clue_dir / "cluewsc" / "train.json", task, "train")
    assert examples[0].texts == ("老王看见了_小李_，[他]很高兴。",)
    assert examples[1].texts == ("_小明_说[他]明天来。",)
    assert examples[0].id == 100  # "idx" is the id field of FewCLUE's train/dev rows
    assert task.with_texts(examples[0], examples[0].texts) == dict(examples[0].record)
    # An augmented text with a longer prefix and span: indices and span texts are recomputed.
    record = task.with_texts(examples[0], ["老王昨天看见了_小李子_，我想[他]很高兴。"])
    assert record["text"] == "老王昨天看见了小李子，我想他很高兴。"
    target = record["target"]
    assert record["text"][target["span1_index"] :].startswith(target["span1_text"]) and target["span1_text"] == "小李子"
    assert record["text"][target["span2_index"]] == "他" and target["span2_index"] == 13
    with pytest.raises(ValueError, match="exactly one"):
        unmark("没有标记", task.marks)


def test_cluewsc_index_that_misses_its_span_moves_to_the_nearest_match(tmp_path: Path) -> None:
    row = {"text": "他说他来了", "target": {"span1_text": "来", "span1_index": 1, "span2_text": "他", "span2_index": 3},
           "label": "true"}
    path = clue_files.write_jsonl(tmp_path / "dev.json", [row])
    (example,) = Cluewsc2020().read_examples(path, "dev")
    assert example.texts == ("他说[他]_来_了",)
    bad = {**row, "target": {**row["target"], "span1_text": "去"}}
    clue_files.write_jsonl(path, [row, bad])
    with pytest.raises(InputError, match=r"dev.json:2: target span1_text '去' does not occur"):
        list(Cluewsc2020().read_examples(path, "dev"))


def test_csl_joins_keywords_as_the_first_text_and_splits_them_back(clue_dir: Path) -> None:
    task = Csl()
    example = load_split(clue_dir / "csl" / "dev.json", task, "dev")[0]
    assert example.texts[0] == "手机；手机" and example.texts[1] == example.record["abst"]
    record = task.with_texts(example, ["电池；屏幕", "新的摘要"])
    assert record["keyword"] == ["电池", "屏幕"] and record["abst"] == "新的摘要" and record["id"] == example.id
    assert task.max_seq_len == 256


def test_with_texts_replaces_only_text_fields_and_checks_the_count() -> None:
    task = plugins.get_task("afqmc")
    example = TaskExample(id=3, texts=("a", "b"), label="1", line=1, record={"id": 3, "sentence1": "a",
                                                                            "sentence2": "b", "label": "1"})
    assert task.with_texts(example, ["x", "y"]) == {"id": 3, "sentence1": "x", "sentence2": "y", "label": "1"}
    with pytest.raises(ValueError, match="has 2 text"):
        task.with_texts(example, ["x"])


def test_a_third_party_task_is_a_small_subclass_found_through_entry_points(tmp_path: Path) -> None:
    class Lcqmc(JsonLinesTask):
        name = "lcqmc"
        labels = ("0", "1")
        text_fields = ("text_a", "text_b")
        submission_file = "lcqmc_predict.json"
        dir_names = ("lcqmc",)

    spec = plugins.EntryPointSpec("lcqmc", "x:Lcqmc", loader=lambda: Lcqmc)
    with plugins.use_entry_points({"tinyzh.tasks": [spec]}):
        task = plugins.get_task("lcqmc")
        path = clue_files.write_jsonl(tmp_path / "lcqmc" / "dev.json", [{"text_a": "好", "text_b": "坏", "label": 0}])
        (example,) = task.read_examples(path, "dev")
        assert example.texts == ("好", "坏") and example.label == "0" and example.id == 0
        assert find_task_dir(tmp_path, task) == tmp_path / "lcqmc"


def test_utf8_bom_and_trailing_line_without_newline_are_read(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    rows = [json.dumps({"sentence": "好", "label": "100"}), json.dumps({"sentence": "坏", "label": "101"})]
    path.write_bytes(("\ufeff" + "\n".join(rows)).encode("utf-8"))
    assert [ex.label for ex in Tnews().read_examples(path, "dev")] == ["100", "101"]
