"""``tinyzh augment`` end to end: formats, pairs, determinism, workers, resume, bad lines, plugins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinyzh.augment.config import AugmentConfig
from tinyzh.augment.runner import run_augment
from tinyzh.chinese import is_cjk
from tinyzh.cli import app
from tinyzh.errors import ConfigError
from tinyzh.plugins import EntryPointSpec, use_entry_points
from tinyzh.report import Reporter

SYNONYMS = "高兴 快乐 开心 愉快 欢喜\n喜欢 喜爱 爱好 热爱\n漂亮 美丽 好看\n城市 都市 城镇\n东西 物品 物件\n"

OCNLI_ROWS = [
    {"sentence1": "张三今天很高兴，他喜欢这个漂亮的城市", "sentence2": "张三喜欢这个城市", "label": "entailment", "genre": "news", "id": 7},
    {"sentence1": "李四不喜欢漂亮的东西", "sentence2": "李四很高兴", "label": "neutral", "genre": "tv", "id": 8},
    {"sentence1": "王五在城市里很开心", "sentence2": "王五喜欢漂亮的城市", "label": "contradiction", "genre": "gov", "id": 9},
]


def write_jsonl(path: Path, rows: list, extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join([*lines, *extra_lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def synonyms(tmp_path: Path) -> Path:
    path = tmp_path / "syn.txt"
    path.write_text(SYNONYMS, encoding="utf-8")
    return path


def config(tmp_path: Path, synonyms: Path, rows: list, **kw) -> AugmentConfig:
    source = write_jsonl(tmp_path / "train.json", rows)
    options = dict(task="ocnli", input=source, output=tmp_path / "out.json", synonyms=synonyms, num_aug=6)
    return AugmentConfig(**{**options, **kw})


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_cli_writes_originals_first_and_keeps_labels_ids_and_fields(tmp_path: Path, synonyms: Path) -> None:
    source = write_jsonl(tmp_path / "train.json", OCNLI_ROWS * 4)  # 12 lines, repeated ids are fine
    out = tmp_path / "aug.json"
    result = CliRunner().invoke(app, ["augment", "--task", "ocnli", "--input", str(source), "--output", str(out),
                                      "--synonyms", str(synonyms), "--num-aug", "4", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "examples in" in result.output and "12" in result.output
    records = read(out)
    groups: list[list[dict]] = []
    for rec in records:
        if groups and groups[-1][0]["id"] == rec["id"] and len(groups[-1]) <= 4 and rec not in groups[-1]:
            groups[-1].append(rec)
        else:
            groups.append([rec])
    assert len(groups) == 12
    for group, original in zip(groups, OCNLI_ROWS * 4, strict=True):
        assert group[0] == original  # the original first, untouched
        assert 2 <= len(group) <= 5
        for copy in group[1:]:
            assert {k: v for k, v in copy.items() if not k.startswith("sentence")} == \
                   {k: v for k, v in original.items() if not k.startswith("sentence")}
            # names are never replaced, so each copy's two sentences still belong to this example
            name = original["sentence1"][:2]
            assert copy["sentence1"].startswith(name) and copy["sentence2"].startswith(name)
        assert len({(c["sentence1"], c["sentence2"]) for c in group}) == len(group)  # no duplicates
    both = [c for g in groups for c in g[1:] if c["sentence1"] != g[0]["sentence1"] and c["sentence2"] != g[0]["sentence2"]]
    assert both, "some copies should change both sentences of the pair at once"
    progress = json.loads(out.with_name("aug.json.progress.json").read_text(encoding="utf-8"))
    assert progress["complete"] and progress["config"]["num_aug"] == 4 and progress["stats"]["examples_in"] == 12


def test_allow_unlabeled_augments_rows_without_a_label(tmp_path: Path, synonyms: Path) -> None:
    rows = [{k: v for k, v in r.items() if k != "label"} for r in OCNLI_ROWS] + OCNLI_ROWS[:1]
    source, out = write_jsonl(tmp_path / "unlabeled.json", rows), tmp_path / "aug.json"
    argv = ["augment", "--task", "ocnli", "--input", str(source), "--output", str(out), "--synonyms", str(synonyms),
            "--num-aug", "3"]
    plain = CliRunner().invoke(app, argv)  # a training file needs its labels: the rest are bad lines
    assert plain.exit_code == 0 and all(r.get("label") == "entailment" for r in read(out))
    assert "missing field 'label'" in out.with_name("aug.json.bad.txt").read_text(encoding="utf-8")
    result = CliRunner().invoke(app, [*argv, "--allow-unlabeled", "--overwrite"])
    assert result.exit_code == 0, result.output
    records = read(out)
    assert len(records) > len(rows) and {r["id"] for r in records} == {7, 8, 9}
    unlabelled = [r for r in records if "label" not in r]
    assert unlabelled[:1] == rows[:1] and len(unlabelled) > 3  # the originals first, then copies without one
    assert [r for r in records if "label" in r][0] == OCNLI_ROWS[0]  # a labelled row keeps its label
    both = CliRunner().invoke(app, [*argv, "--allow-unlabeled", "--balance", "--overwrite"])
    assert both.exit_code == 1 and "--balance keeps label proportions" in " ".join(both.output.split())


def test_single_text_task_and_p_zero(tmp_path: Path, synonyms: Path) -> None:
    rows = [{"label": 100, "label_desc": "news_story", "sentence": "他很高兴地去了城市", "keywords": "城市", "id": 1}]
    summary = run_augment(config(tmp_path, synonyms, rows, task="tnews", p=0.0))
    assert read(tmp_path / "out.json") == rows  # p=0: the original only
    assert summary.stats.copies == 0 and summary.stats.short == 1
    summary = run_augment(config(tmp_path, synonyms, rows, task="tnews", p=0.6, overwrite=True))
    records = read(tmp_path / "out.json")
    assert records[0] == rows[0] and len(records) > 1
    assert all(r["label"] == 100 and r["keywords"] == "城市" and r["id"] == 1 for r in records)


def test_same_seed_same_output_and_other_seed_differs(tmp_path: Path, synonyms: Path) -> None:
    outputs = []
    for seed, name in ((5, "a"), (5, "b"), (6, "c")):
        cfg = config(tmp_path, synonyms, OCNLI_ROWS, seed=seed, output=tmp_path / f"{name}.json")
        run_augment(cfg)
        outputs.append(cfg.output.read_bytes())
    assert outputs[0] == outputs[1] != outputs[2]


def test_two_workers_match_one_and_chunks_do_not_matter(tmp_path: Path, synonyms: Path) -> None:
    rows = OCNLI_ROWS * 6  # 18 lines -> 5 chunks of 4
    one = config(tmp_path, synonyms, rows, chunk_size=4, output=tmp_path / "one.json")
    two = config(tmp_path, synonyms, rows, chunk_size=4, workers=2, output=tmp_path / "two.json")
    run_augment(one)
    summary = run_augment(two)
    assert one.output.read_bytes() == two.output.read_bytes()
    assert summary.stats.examples_in == 18


def test_resume_after_an_interruption_gives_the_same_output(tmp_path: Path, synonyms: Path) -> None:
    rows = OCNLI_ROWS * 5  # 15 lines, chunks of 4
    whole = config(tmp_path, synonyms, rows, chunk_size=4, output=tmp_path / "whole.json")
    run_augment(whole)
    cut = config(tmp_path, synonyms, rows, chunk_size=4, output=tmp_path / "cut.json")
    seen: list[int] = []

    class StopAfterTwo(Reporter):
        def progress(self, name: str, completed: float, total: float | None = None, info: object = None) -> None:
            seen.append(int(completed))
            if len(seen) == 2:
                raise KeyboardInterrupt

    class Record(Reporter):
        def progress(self, name: str, completed: float, total: float | None = None, info: object = None) -> None:
            seen.append(int(completed))

    with pytest.raises(KeyboardInterrupt):
        run_augment(cut, StopAfterTwo())
    with cut.output.open("ab") as handle:  # a crash half-way through writing the next chunk
        handle.write(b'{"sentence1": "half a li')
    summary = run_augment(cut, Record())
    assert summary.resumed_at == 8 and seen[2] == 12 and seen[-1] == 15
    assert cut.output.read_bytes() == whole.output.read_bytes()
    assert summary.stats.examples_in == 15
    again = run_augment(cut)  # complete: nothing to do, same summary
    assert again.already_complete and not summary.already_complete
    assert again.stats == summary.stats and cut.output.read_bytes() == whole.output.read_bytes()


def test_resume_refuses_other_options_and_foreign_outputs(tmp_path: Path, synonyms: Path) -> None:
    cfg = config(tmp_path, synonyms, OCNLI_ROWS)
    run_augment(cfg)
    with pytest.raises(ConfigError, match="other options"):
        run_augment(config(tmp_path, synonyms, OCNLI_ROWS, num_aug=3))
    foreign = tmp_path / "foreign.json"
    foreign.write_text("keep me\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="--overwrite"):
        run_augment(config(tmp_path, synonyms, OCNLI_ROWS, output=foreign))
    assert foreign.read_text(encoding="utf-8") == "keep me\n"
    run_augment(config(tmp_path, synonyms, OCNLI_ROWS, output=foreign, overwrite=True))
    assert read(foreign)[0] == OCNLI_ROWS[0]


def test_bad_lines_are_reported_with_file_and_line_and_the_rest_goes_on(tmp_path: Path, synonyms: Path) -> None:
    bad_rows = [
        OCNLI_ROWS[0],                                                          # 1 ok
        '{"sentence1": "没有结束',                                               # 2 malformed JSON
        {"sentence1": "只有一句", "label": "neutral"},                           # 3 missing sentence2
        {"sentence1": "", "sentence2": "很高兴", "label": "neutral"},            # 4 empty text
        '["not", "an", "object"]',                                              # 5 not an object
        {"sentence1": "他很高兴", "sentence2": "他很开心", "label": "maybe"},     # 6 unknown label
        {"sentence1": "他很高兴", "sentence2": "他很开心", "label": "-"},         # 7 no gold label
        OCNLI_ROWS[1],                                                          # 8 ok
    ]
    source = write_jsonl(tmp_path / "bad.json", bad_rows, extra_lines=("",))  # 9 blank: fine
    not_utf8 = b'{"sentence1": "\xff\xfe"}\n'                                      # 10 not UTF-8
    last = json.dumps(OCNLI_ROWS[2], ensure_ascii=False).encode() + b"\n"          # 11 ok
    source.write_bytes(source.read_bytes() + not_utf8 + last)
    out = tmp_path / "aug.json"
    result = CliRunner().invoke(app, ["augment", "--task", "ocnli", "--input", str(source), "--output", str(out),
                                      "--synonyms", str(synonyms), "--num-aug", "2"])
    assert result.exit_code == 0, result.output
    report = out.with_name("aug.json.bad.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split(":")[1] for line in report] == ["2", "3", "4", "5", "6", "7", "10"]
    assert all(line.startswith(f"{source}:") for line in report)
    assert "malformed JSON" in report[0] and "sentence2" in report[1] and "empty" in report[2]
    assert "'sentence1'" in report[2] and "skipped" in report[5] and "UTF-8" in report[6]
    originals = [r for r in read(out) if r in OCNLI_ROWS]
    assert originals == [OCNLI_ROWS[0], OCNLI_ROWS[1], OCNLI_ROWS[2]]
    progress = json.loads(out.with_name("aug.json.progress.json").read_text(encoding="utf-8"))
    assert progress["stats"]["bad_lines"] == 6 and progress["stats"]["skipped"] == 1
    assert progress["stats"]["examples_in"] == 3
    assert progress["stats"]["lines"] == 11


class Reverse:
    """A third-party augmenter: proposes every word reversed (protected words included)."""

    name = "reverse"

    def __init__(self, top_k: int = 1, flavour: str = "plain") -> None:
        self.top_k = top_k

    def candidates(self, texts):
        return [[{w[::-1]: 1.0} for w, _ in text] for text in texts]


def test_third_party_augmenter_through_entry_points(tmp_path: Path, synonyms: Path) -> None:
    rows = [{"label": 100, "sentence": "张三喜欢漂亮衣服", "id": 3}]
    specs = {"tinyzh.augmenters": [EntryPointSpec("reverse", "x:Reverse", loader=lambda: Reverse)]}
    with use_entry_points(specs, keep_installed=True):
        run_augment(config(tmp_path, synonyms, rows, task="tnews", augmenters=("reverse",), p=1.0))
    records = read(tmp_path / "out.json")
    assert records[0]["sentence"] == "张三喜欢漂亮衣服"
    # jieba: 张三/喜欢/漂亮衣服. The name is kept, and a copy keeps most of its 3 words: one changes.
    assert {r["sentence"] for r in records[1:]} == {"张三欢喜漂亮衣服", "张三喜欢服衣亮漂"}


def test_unknown_names_are_clear_errors(tmp_path: Path, synonyms: Path) -> None:
    result = CliRunner().invoke(app, ["augment", "--task", "ocnli", "--input", str(tmp_path / "none.json"),
                                      "--output", str(tmp_path / "o.json")])
    assert result.exit_code == 1 and "not found" in result.output
    source = write_jsonl(tmp_path / "train.json", OCNLI_ROWS)
    result = CliRunner().invoke(app, ["augment", "--task", "ocnli", "--input", str(source), "--output",
                                      str(tmp_path / "o.json"), "--augmenter", "synonym,wordnet"])
    assert result.exit_code == 1 and "wordnet" in result.output and "homophone" in result.output
    result = CliRunner().invoke(app, ["augment", "--task", "ocnli", "--input", str(source), "--output",
                                      str(tmp_path / "o.json"), "--p", "1.5"])
    assert result.exit_code == 1 and "--p" in result.output


def test_synonym_mlm_composition_end_to_end(tmp_path: Path, synonyms: Path, tiny_teacher_dir: Path) -> None:
    rows = [{"label": 100, "sentence": "张三很高兴，猫喜欢鱼", "id": 1}]
    cfg = config(tmp_path, synonyms, rows, task="tnews", augmenters=("synonym", "mlm"), teacher=str(tiny_teacher_dir),
                 p=1.0, num_aug=5)
    summary = run_augment(cfg)
    copies = [r["sentence"] for r in read(cfg.output)[1:]]
    assert len(copies) == 5 and summary.stats.copies == 5
    changed_multi = changed_single = 0
    for copy in copies:  # p=1, but a copy keeps most of its 6 words: 1 or 2 change; the name and comma stay
        assert copy[:2] == "张三" and copy[5] == "，" and len(copy) == len("张三很高兴，猫喜欢鱼")
        assert copy[3:5] in ("高兴", "快乐", "开心", "愉快", "欢喜")  # multi-character words: dictionary
        assert copy[7:9] in ("喜欢", "喜爱", "爱好", "热爱")
        singles = [(copy[2], "很"), (copy[6], "猫"), (copy[9], "鱼")]  # single: masked LM
        assert all(is_cjk(single) for single, _ in singles)
        multi = (copy[3:5] != "高兴") + (copy[7:9] != "喜欢")
        single = sum(s != o for s, o in singles)
        assert 1 <= multi + single <= 2
        changed_multi, changed_single = changed_multi + multi, changed_single + single
    assert changed_multi and changed_single  # both augmenters served their words
