"""The compression-quality experiment's smallest setting: every stage runs and the report is complete."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import quality  # noqa: E402
from quality_setup import QualityConfig, trim_vocab  # noqa: E402
from quality_stages import augmented_task_dir, layer_map  # noqa: E402

MODELS = ("teacher", "student", "baseline_general", "baseline_random")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("quality")
    argv = ["--size", "tiny", "--synthetic", "--work", str(out / "work"), "--results", str(out / "results"),
            "--threads", "1"]  # fmt: skip
    assert quality.main(argv) == 0
    return out / "results"


def test_tiny_run_writes_every_report_file(tiny_run: Path) -> None:
    assert {p.name for p in tiny_run.iterdir()} >= {"results.json", "results.md", "results.png"}
    assert (tiny_run / "results.png").read_bytes()[:4] == b"\x89PNG"


def test_report_has_every_expected_field(tiny_run: Path) -> None:
    report = json.loads((tiny_run / "results.json").read_text(encoding="utf-8"))
    assert set(report["tasks"]) == {"tnews", "ocnli", "iflytek"}
    # the synthetic folder holds a stand-in for the shared e5: the default takes the pretrained path
    assert report["config"]["teacher"].endswith("models/multilingual-e5-small-zh")
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
        if teacher["accuracy"]:
            assert result["retention"] == pytest.approx(student["accuracy"] / teacher["accuracy"], abs=1e-3)
    assert {"pregen", "teacher-finetune", "distill-general", "distill-task-iflytek"} <= set(report["seconds"])


def test_markdown_table_has_a_row_per_task_and_model(tiny_run: Path) -> None:
    lines = [line for line in (tiny_run / "results.md").read_text(encoding="utf-8").splitlines()
             if line.startswith(("| tnews", "| ocnli", "| iflytek"))]  # fmt: skip
    assert len(lines) == 3 * len(MODELS)
    assert "| tnews | teacher (multilingual-e5-small-zh, fine-tuned) |" in "\n".join(lines)
    assert "Student / teacher parameters: 1/" in (tiny_run / "results.md").read_text(encoding="utf-8")


def test_the_scratch_teacher_and_the_recipe_options(tmp_path: Path) -> None:
    argv = ["--size", "tiny", "--synthetic", "--teacher", "scratch", "--work", str(tmp_path / "work"),
            "--results", str(tmp_path / "results"), "--threads", "1",
            "--set", "init_from_teacher=true", "--set", 'attention_loss="relation"']  # fmt: skip
    assert quality.main(argv) == 0
    general = json.loads((tmp_path / "work" / "student-general" / "distill_summary.json").read_text(encoding="utf-8"))
    assert general["init_from_teacher"]["cut"] > 0 and "relation_1" in general["final_terms"]
    task = json.loads((tmp_path / "work" / "student" / "tnews" / "distill_config.json").read_text(encoding="utf-8"))
    assert task["attention_loss"] == "relation" and not task["init_from_teacher"]  # the task stage starts from general
    report = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    assert report["config"]["teacher"] == "scratch" and report["teacher_mlm_loss"] > 0
    assert "teacher-pretrain" in report["seconds"]
    student = json.loads((tmp_path / "work" / "student-config.json").read_text(encoding="utf-8"))
    assert (student["num_hidden_layers"], student["hidden_size"]) == (1, 16)  # the tiny size's scratch student
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
    (tmp_path / "models" / "multilingual-e5-small-zh").mkdir(parents=True)
    (tmp_path / "models" / "multilingual-e5-small-zh" / "config.json").write_text("{}", encoding="utf-8")
    auto = QualityConfig(data=tmp_path, output=tmp_path, size="tiny")
    assert auto.pretrained_teacher == tmp_path / "models" / "multilingual-e5-small-zh"
    assert QualityConfig(data=tmp_path, output=tmp_path, teacher="scratch").pretrained_teacher is None
    assert QualityConfig(data=tmp_path, output=tmp_path, teacher="scratch").to_dict()["teacher"] == "scratch"
    with pytest.raises(ConfigError, match="expected auto, scratch or a checkpoint folder"):
        QualityConfig(data=tmp_path, output=tmp_path, teacher=str(tmp_path / "nowhere"))


def test_student_of_a_pretrained_teacher_inherits_its_config(tmp_path: Path) -> None:
    from quality_setup import SIZES
    from quality_stages import student_config

    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 1536, "vocab_size": 26862, "pad_token_id": 1, "max_position_embeddings": 512,
        "architectures": ["BertModel"], "_source": "e5"}), encoding="utf-8")
    config = json.loads(student_config(SIZES["default"], tmp_path, tmp_path, teacher).read_text(encoding="utf-8"))
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]) == (144, 4, 12)
    assert config["pad_token_id"] == 1 and config["vocab_size"] == 26862 and "_source" not in config
    # 1/5 of e5-small's 31.8M parameters at most, counting the whole vocabulary's embeddings
    embeddings = (26862 + 512 + 2) * 144
    layer = 4 * 144 * 144 + 2 * 144 * 576 + 4 * 144 + 576 + 144 + 4 * 144
    assert embeddings + 4 * layer < 31.8e6 / 5


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
    for task in ("tnews", "ocnli", "iflytek"):
        (data / task).mkdir(parents=True)
        (data / task / "train.json").write_text("original\n", encoding="utf-8")
        (data / task / "dev.json").write_text(f"{task} dev\n", encoding="utf-8")
        (tmp_path / f"{task}.json").write_text(f"{task} augmented\n", encoding="utf-8")
    folder = augmented_task_dir(data, {t: tmp_path / f"{t}.json" for t in ("tnews", "ocnli", "iflytek")},
                                tmp_path / "aug")
    for task in ("tnews", "ocnli", "iflytek"):
        assert (folder / task / "train.json").read_text(encoding="utf-8") == f"{task} augmented\n"
        assert (folder / task / "dev.json").read_text(encoding="utf-8") == f"{task} dev\n"
