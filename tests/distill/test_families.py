"""Teachers and students of several transformers families, with a SentencePiece tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import tiny
from tests.distill.conftest import SENTENCES, general_config, read_metrics
from tinyzh.distill import run_distill
from tinyzh.errors import ConfigError

FAMILIES = {"bert": {}, "xlm-roberta": {"type_vocab_size": 1}, "ernie": {}}


@pytest.fixture(scope="module")
def spm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("spm")
    tiny.build_spm_tokenizer(900, lines=tiny.spm_training_lines() + SENTENCES * 3).save_pretrained(str(directory))
    return directory


def family_root(root: Path, spm_dir: Path, model_type: str) -> dict[str, Path]:
    from tinyzh.pregen import PregenConfig, run_pregen

    teacher = tiny.save_tiny_model(root / "teacher", spm_dir, model_type=model_type, kind="mlm",
                                   **FAMILIES[model_type])
    corpus = root / "corpus.txt"
    docs = ["".join(SENTENCES[(i + j) % len(SENTENCES)] + "\n" for j in range(4)) for i in range(24)]
    corpus.write_text("\n".join(docs), encoding="utf-8")
    run_pregen(PregenConfig(corpus=[corpus], output=root / "pregen", tokenizer=str(teacher), max_seq_len=32,
                            workers=1))
    from transformers import AutoConfig

    vocab_size = json.loads((teacher / "config.json").read_text(encoding="utf-8"))["vocab_size"]
    student = AutoConfig.for_model(model_type, vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                                   num_attention_heads=4, intermediate_size=64, pad_token_id=1,
                                   max_position_embeddings=130, hidden_dropout_prob=0.0,
                                   attention_probs_dropout_prob=0.0, **FAMILIES[model_type])
    (root / "student.json").write_text(json.dumps({**student.to_dict(), "model_type": model_type}), encoding="utf-8")
    return {"teacher": teacher, "pregen": root / "pregen", "student": root / "student.json"}


@pytest.mark.parametrize("model_type", sorted(FAMILIES))
def test_general_distillation_for_each_family(model_type: str, spm_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForMaskedLM

    paths = family_root(tmp_path, spm_dir, model_type)
    out = tmp_path / "out"
    run_distill(general_config(paths, out, max_steps=3, mlm_weight=1.0))
    row = read_metrics(out)[0]
    assert {"attention_1", "attention_2", "hidden_1", "hidden_2", "mlm"} <= set(row)
    assert all(row[k] > 0 for k in ("attention_1", "hidden_2", "mlm"))
    student = AutoModelForMaskedLM.from_pretrained(str(out))
    assert student.config.model_type == model_type and student.config.pad_token_id == 1
    assert (out / "tokenizer.json").exists()


def test_preset_student_takes_the_teachers_family_and_specials(spm_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoModel

    from tinyzh.distill.models import _student_config

    teacher_dir = tiny.save_tiny_model(tmp_path / "t", spm_dir, model_type="xlm-roberta", heads=12, hidden=48,
                                       type_vocab_size=1)
    teacher = AutoModel.from_pretrained(str(teacher_dir))
    config, directory = _student_config("tinybert-4", teacher.config)
    assert directory is None and config.model_type == "xlm-roberta"
    assert (config.vocab_size, config.pad_token_id, config.type_vocab_size) == (teacher.config.vocab_size, 1, 1)
    assert config.max_position_embeddings == teacher.config.max_position_embeddings
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (4, 312, 12)


def test_an_encoder_without_bert_attention_names_its_type(spm_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForMaskedLM

    paths = family_root(tmp_path, spm_dir, "bert")
    teacher = tmp_path / "distil"
    vocab_size = json.loads((paths["teacher"] / "config.json").read_text(encoding="utf-8"))["vocab_size"]
    config = DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=64, pad_token_id=1)
    DistilBertForMaskedLM(config).save_pretrained(str(teacher))
    AutoTokenizer.from_pretrained(str(spm_dir)).save_pretrained(str(teacher))
    with pytest.raises(ConfigError, match="'distilbert' model"):
        run_distill(general_config({**paths, "teacher": teacher}, tmp_path / "out", max_steps=1))


def test_a_tokenizer_padding_with_another_id_than_the_model_is_an_error(spm_dir: Path, tmp_path: Path) -> None:
    paths = family_root(tmp_path, spm_dir, "bert")
    config = json.loads((paths["teacher"] / "config.json").read_text(encoding="utf-8"))
    (paths["teacher"] / "config.json").write_text(json.dumps({**config, "pad_token_id": 0}), encoding="utf-8")
    with pytest.raises(ConfigError, match="pads with id 1 but the model's pad_token_id is 0"):
        run_distill(general_config(paths, tmp_path / "out", max_steps=1))


def test_general_distillation_uses_the_manifests_tokenizer_when_the_teacher_has_none(
        spm_dir: Path, tmp_path: Path) -> None:
    paths = family_root(tmp_path, spm_dir, "bert")
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        (bare / name).write_bytes((paths["teacher"] / name).read_bytes())
    out = tmp_path / "out"
    run_distill(general_config({**paths, "teacher": bare}, out, max_steps=1))
    assert (out / "tokenizer.json").exists()
