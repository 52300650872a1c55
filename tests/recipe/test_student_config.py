"""A recipe's ``student = { layers, hidden, heads, intermediate }`` table takes the teacher's family."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tiny import save_tiny_bert, save_tiny_model, write_spm_tokenizer, write_vocab
from tinyzh.config import BertShape
from tinyzh.recipe.demo_steps import write_student_config


def test_a_sentencepiece_teachers_student_keeps_its_family_and_special_ids(tmp_path: Path) -> None:
    teacher = save_tiny_model(tmp_path / "xlmr", write_spm_tokenizer(tmp_path / "spm"), model_type="xlm-roberta",
                              layers=2, hidden=32, heads=4)  # fmt: skip
    write_student_config(tmp_path / "student.json", BertShape(1, 16, 4, 32), str(teacher), 66)
    student = json.loads((tmp_path / "student.json").read_text(encoding="utf-8"))
    expected = json.loads((teacher / "config.json").read_text(encoding="utf-8"))
    assert student["model_type"] == "xlm-roberta" and student["pad_token_id"] == expected["pad_token_id"] == 1
    assert student["vocab_size"] == expected["vocab_size"] and student["max_position_embeddings"] == 66
    assert (student["num_hidden_layers"], student["hidden_size"], student["intermediate_size"]) == (1, 16, 32)
    assert "architectures" not in student


def test_a_wordpiece_teachers_student_is_a_bert_of_the_shape(tmp_path: Path) -> None:
    teacher = save_tiny_bert(tmp_path / "bert", write_vocab(tmp_path / "vocab"), kind="base", layers=2, hidden=32, heads=4)
    write_student_config(tmp_path / "student.json", BertShape(1, 16, 4, 32), str(teacher), 64)
    student = json.loads((tmp_path / "student.json").read_text(encoding="utf-8"))
    assert (student["model_type"], student["pad_token_id"], student["max_position_embeddings"]) == ("bert", 0, 64)
    assert student["num_attention_heads"] == 4
