"""The compression-quality experiment's smallest setting: every stage runs and the report is complete."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import quality  # noqa: E402
from quality_setup import PRETRAINED, TASKS, QualityConfig, trim_vocab  # noqa: E402
from quality_stages import augmented_task_dir, layer_map  # noqa: E402

MODELS = ("teacher", "student", "baseline_general", "baseline_random")


def test_tiny_run_writes_every_report_file(tiny_run: Path) -> None:
    assert {p.name for p in tiny_run.iterdir()} >= {"results.json", "results.md", "results.png"}
    assert (tiny_run / "results.png").read_bytes()[:4] == b"\x89PNG"


def test_report_has_every_expected_field(tiny_run: Path) -> None:
    report = json.loads((tiny_run / "results.json").read_text(encoding="utf-8"))
    assert set(report["tasks"]) == {"tnews", "ocnli", "iflytek"}
    # the stand-in for the shared e5 is there: the default takes the pretrained path, no masked-LM stage
    assert report["config"]["teacher"].endswith(str(PRETRAINED))
    assert report["teacher_mlm_loss"] is None and "teacher-pretrain" not in report["seconds"]
    assert 0 < report["parameter_ratio"] < 1
    assert report["config"]["size"] == "tiny" and report["config"]["seed"] == 0
    for task, result in report["tasks"].items():
        assert set(result["models"]) == set(MODELS)
        assert (
            result["n_train"] > 0 and result["n_dev"] > 0 and result["n_train_augmented"] > result["n_train"]
        )
        for model in result["models"].values():
            assert 0.0 <= model["accuracy"] <= 1.0 and model["parameters"] > 0
        for name in ("teacher", "student"):
            model = result["models"][name]
            assert model["size_bytes"] > 0
            assert model["examples_per_s"]["batch_1"] > 0 and model["examples_per_s"]["batch_32"] > 0
        teacher, student = result["models"]["teacher"], result["models"]["student"]
        assert student["parameters"] < teacher["parameters"] and student["size_bytes"] < teacher["size_bytes"]
        assert result["baseline_passes"] == 2 * report["config"]["settings"]["task_epochs"][task]
        assert teacher["parameters"] > 2 * student["parameters"]  # the stand-in 2 x 48 against 1 x 24
        assert result["speedup_batch_1"] > 0
        if teacher["accuracy"]:
            assert result["retention"] == pytest.approx(student["accuracy"] / teacher["accuracy"], abs=1e-3)
    assert {"pregen", "teacher-finetune-iflytek", "distill-general", "distill-task-iflytek"} <= set(report["seconds"])


def test_the_pretrained_teachers_student_and_data_follow_its_tokenizer(tiny_run: Path, data_with_e5: Path) -> None:
    work = tiny_run.parent / "work"
    teacher = json.loads((data_with_e5 / PRETRAINED / "config.json").read_text(encoding="utf-8"))
    for config_file in (work / "tnews" / "student-config.json", work / "student-random" / "config.json"):
        student = json.loads(config_file.read_text(encoding="utf-8"))
        assert (student["num_hidden_layers"], student["hidden_size"], student["num_attention_heads"]) == (1, 24, 12)
        assert student["pad_token_id"] == teacher["pad_token_id"] == 1  # the SentencePiece <pad>, not BERT's 0
        assert student["vocab_size"] == teacher["vocab_size"]
        assert student["max_position_embeddings"] == teacher["max_position_embeddings"]
    manifest = json.loads((work / "tnews" / "pregen" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tokenizer"]["vocab_size"] == teacher["vocab_size"]  # pregen used the teacher's pieces
    general = json.loads((work / "tnews" / "student-general" / "distill_config.json").read_text(encoding="utf-8"))
    assert general["teacher"] == str(data_with_e5 / PRETRAINED) and general["layer_map"] == "0:0,1:2"


def test_markdown_table_has_a_row_per_task_and_model(tiny_run: Path) -> None:
    lines = [line for line in (tiny_run / "results.md").read_text(encoding="utf-8").splitlines()
             if line.startswith(tuple(f"| {task} |" for task in TASKS))]  # fmt: skip
    assert len(lines) == 3 * len(MODELS)
    assert "| tnews | teacher (multilingual-e5-small-zh, fine-tuned) |" in "\n".join(lines)
    assert "Student / teacher parameters: 1/" in (tiny_run / "results.md").read_text(encoding="utf-8")


def test_the_scratch_teacher_and_the_recipe_options(data_with_e5: Path, tmp_path: Path) -> None:
    argv = ["--size", "tiny", "--data", str(data_with_e5), "--teacher", "scratch", "--work", str(tmp_path / "work"),
            "--results", str(tmp_path / "results"), "--threads", "1",
            "--set", "init_from_teacher=true", "--set", 'attention_loss="relation"']  # fmt: skip
    assert quality.main(argv) == 0
    report = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    assert report["config"]["teacher"] == "scratch" and report["teacher_mlm_loss"] > 0
    assert "teacher-pretrain" in report["seconds"]
    work = tmp_path / "work"
    student = json.loads((work / "tnews" / "student-config.json").read_text(encoding="utf-8"))
    assert (student["num_hidden_layers"], student["hidden_size"]) == (1, 16)  # the tiny size's scratch student
    general = json.loads((work / "tnews" / "student-general" / "distill_summary.json").read_text(encoding="utf-8"))
    assert general["init_from_teacher"]["cut"] > 0 and "relation_1" in general["final_terms"]
    task = json.loads((work / "ocnli" / "student" / "distill_config.json").read_text(encoding="utf-8"))
    assert task["attention_loss"] == "relation" and not task["init_from_teacher"]  # it starts from general
    assert "(MLM pre-trained, fine-tuned)" in (tmp_path / "results" / "results.md").read_text(encoding="utf-8")


def test_missing_data_skips_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert quality.main(["--size", "default", "--data", str(tmp_path), "--work", str(tmp_path / "w")]) == 0
    assert "skipped:" in capsys.readouterr().out
    assert not (tmp_path / "w").exists()


def test_layer_map_is_uniform_and_rounds_half_up() -> None:
    assert layer_map(6, 4) == "0:0,1:2,2:3,3:5,4:6"
    assert layer_map(12, 4) == "0:0,1:3,2:6,3:9,4:12"


def test_trim_vocab_keeps_specials_seen_chars_and_ascii_pieces(tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text(
        "\n".join(
            [
                "[PAD]",
                "[UNK]",
                "[CLS]",
                "[SEP]",
                "[MASK]",
                "[unused1]",
                "天",
                "气",
                "猫",
                "a",
                "##a",
                "##天",
                "hello",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "text.txt").write_text("天气A", encoding="utf-8")
    trimmed = trim_vocab(tmp_path / "vocab.txt", [tmp_path / "text.txt"], tmp_path / "out")
    kept = (trimmed / "vocab.txt").read_text(encoding="utf-8").split()
    assert kept == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "天", "气", "a", "##a"]


def test_teacher_choice(tmp_path: Path) -> None:
    from tinyzh.errors import ConfigError

    assert QualityConfig(data=tmp_path, output=tmp_path, size="tiny").pretrained_teacher is None  # no e5 there
    (tmp_path / PRETRAINED).mkdir(parents=True)
    (tmp_path / PRETRAINED / "config.json").write_text("{}", encoding="utf-8")
    assert QualityConfig(data=tmp_path, output=tmp_path).pretrained_teacher == tmp_path / PRETRAINED
    scratch = QualityConfig(data=tmp_path, output=tmp_path, teacher="scratch")
    assert scratch.pretrained_teacher is None and scratch.to_dict()["teacher"] == "scratch"
    folder = QualityConfig(data=tmp_path, output=tmp_path, teacher=str(tmp_path / PRETRAINED))
    assert folder.pretrained_teacher == tmp_path / PRETRAINED
    with pytest.raises(ConfigError, match="expected auto, scratch or a checkpoint folder"):
        QualityConfig(data=tmp_path, output=tmp_path, teacher=str(tmp_path / "nowhere"))


def test_the_e5_student_is_a_fifth_of_the_teacher_counting_embeddings() -> None:
    """The default size's student of the shared e5 (its config as shipped), both with TNEWS's 15-way head."""
    from quality_setup import SIZES
    from transformers import BertConfig, BertForSequenceClassification

    from tinyzh.distill.models import inherited_config

    e5 = BertConfig(vocab_size=26862, hidden_size=384, num_hidden_layers=12, num_attention_heads=12,
                    intermediate_size=1536, max_position_embeddings=512, pad_token_id=1, num_labels=15)
    student_config = inherited_config(e5, SIZES["default"].pretrained_student)
    student_config.num_labels = 15
    count = lambda config: sum(p.numel() for p in BertForSequenceClassification(config).parameters())  # noqa: E731
    teacher, student = count(e5), count(student_config)
    assert round(teacher / 1e6, 2) == 31.96 and round(student / 1e6, 2) == 4.97
    assert 5 * student <= teacher
    assert student_config.pad_token_id == 1 and student_config.max_position_embeddings == 512


def test_overrides_change_the_size_and_unknown_names_fail(tmp_path: Path) -> None:
    from tinyzh.errors import ConfigError

    config = QualityConfig(data=tmp_path, output=tmp_path, size="tiny", overrides={"pretrain_steps": 9})
    assert config.shape.pretrain_steps == 9 and config.to_dict()["settings"]["pretrain_steps"] == 9
    with pytest.raises(ConfigError, match="unknown size settings"):
        QualityConfig(data=tmp_path, output=tmp_path, overrides={"nope": 1})


def test_a_non_empty_work_folder_of_something_else_is_never_removed(tmp_path: Path) -> None:
    from tinyzh.errors import ConfigError

    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="not an earlier quality run"):
        quality.main(
            ["--size", "tiny", "--synthetic", "--work", str(tmp_path), "--results", str(tmp_path / "r")]
        )
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_baselines_read_the_augmented_sets_beside_a_copy_of_dev(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for task in TASKS:
        (data / task).mkdir(parents=True)
        (data / task / "train.json").write_text("original\n", encoding="utf-8")
        (data / task / "dev.json").write_text(f"{task} dev\n", encoding="utf-8")
        (tmp_path / f"{task}.json").write_text(f"{task} augmented\n", encoding="utf-8")
    folder = augmented_task_dir(data, {t: tmp_path / f"{t}.json" for t in TASKS}, tmp_path / "aug")
    for task in TASKS:
        assert (folder / task / "train.json").read_text(encoding="utf-8") == f"{task} augmented\n"
        assert (folder / task / "dev.json").read_text(encoding="utf-8") == f"{task} dev\n"
