"""``--init-from-teacher``: mapped layers copied for a same-width student, per-head leading slices for a
narrower one, refusals for a wider student and for a trained checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.distill.conftest import general_config, write_student_config
from tinyzh.distill import run_distill
from tinyzh.distill.distributed import DistEnv
from tinyzh.distill.phase import build_phase
from tinyzh.distill.teacher_init import cut, teacher_name
from tinyzh.errors import ConfigError


def _vocab(paths: dict[str, Path]) -> int:
    return json.loads((paths["teacher"] / "config.json").read_text(encoding="utf-8"))["vocab_size"]


def _layer(model: torch.nn.Module, i: int) -> torch.nn.Module:
    return model.base_model.encoder.layer[i - 1]


def test_same_width_student_takes_the_mapped_layers(distill_root: dict[str, Path], tmp_path: Path) -> None:
    student = write_student_config(tmp_path / "s.json", _vocab(distill_root), layers=2, hidden=64)
    config = general_config(distill_root, tmp_path / "out", student=str(student), init_from_teacher=True)
    phase = build_phase(config, "general", config.student, DistEnv())
    teacher = phase.teacher  # truncated to its deepest mapped layer (4), not altered
    assert phase.init_report["layers"] == [(1, 2), (2, 4)] and phase.init_report["cut"] == 0
    for s, t in [(1, 2), (2, 4)]:
        for (name_S, p_S), (name_T, p_T) in zip(_layer(phase.student, s).named_parameters(),
                                                _layer(teacher, t).named_parameters(), strict=True):
            assert name_S == name_T and torch.equal(p_S, p_T.float())
    emb_S, emb_T = phase.student.bert.embeddings, teacher.embeddings
    assert torch.equal(emb_S.word_embeddings.weight, emb_T.word_embeddings.weight)
    assert torch.equal(emb_S.LayerNorm.weight, emb_T.LayerNorm.weight)
    # the MLM head stays as built, its decoder tied to the copied embeddings
    assert phase.student.cls.predictions.decoder.weight.data_ptr() == emb_S.word_embeddings.weight.data_ptr()


def test_narrower_student_gets_per_head_leading_slices(distill_root: dict[str, Path], tmp_path: Path) -> None:
    """Student 32 wide, 4 heads of 8; teacher 64 wide, 4 heads of 16."""
    config = general_config(distill_root, tmp_path / "out", init_from_teacher=True)
    phase = build_phase(config, "general", config.student, DistEnv())
    assert phase.init_report["copied"] == 0 and phase.init_report["cut"] > 0 and phase.init_report["kept"] == []
    s_attn, t_attn = _layer(phase.student, 1).attention, _layer(phase.teacher, 2).attention
    q_S, q_T = s_attn.self.query.weight, t_attn.self.query.weight  # (32, 32), (64, 64)
    assert torch.equal(q_S.view(4, 8, 32), q_T.view(4, 16, 64)[:, :8, :32])
    assert torch.equal(s_attn.self.value.bias.view(4, 8), t_attn.self.value.bias.view(4, 16)[:, :8])
    o_S, o_T = s_attn.output.dense.weight, t_attn.output.dense.weight  # (out 32, in heads x 8)
    assert torch.equal(o_S.view(32, 4, 8), o_T.view(64, 4, 16)[:32, :, :8])
    ffn_S, ffn_T = _layer(phase.student, 2).intermediate.dense.weight, _layer(phase.teacher, 4).intermediate.dense.weight
    assert torch.equal(ffn_S, ffn_T[:64, :32])  # student ffn 64 of the teacher's 128
    words_S, words_T = phase.student.bert.embeddings.word_embeddings.weight, phase.teacher.embeddings.word_embeddings.weight
    assert torch.equal(words_S, words_T[:, :32])


def test_cut_rules() -> None:
    weight = torch.arange(24.0).view(4, 6)
    assert torch.equal(cut(weight, torch.Size([2, 3]), "encoder.layer.0.output.dense.weight", heads=2), weight[:2, :3])
    # query rows are 2 heads x 2: per head the first row of each pair
    rows = cut(weight, torch.Size([2, 6]), "encoder.layer.0.attention.self.query.weight", heads=2)
    assert torch.equal(rows, weight[[0, 2]])
    with pytest.raises(ConfigError, match="at most as wide as its teacher"):
        cut(weight, torch.Size([5, 6]), "embeddings.word_embeddings.weight", heads=None)
    assert teacher_name("encoder.layer.1.attention.self.key.bias", {2: 6}) == "encoder.layer.5.attention.self.key.bias"
    assert teacher_name("encoder.layer.0.output.dense.bias", {2: 6}) is None
    assert teacher_name("embeddings.word_embeddings.weight", {}) == "embeddings.word_embeddings.weight"


def test_refuses_a_wider_student_and_a_checkpoint(distill_root: dict[str, Path], tmp_path: Path) -> None:
    wide = write_student_config(tmp_path / "wide.json", _vocab(distill_root), layers=2, hidden=96)
    config = general_config(distill_root, tmp_path / "a", student=str(wide), init_from_teacher=True)
    with pytest.raises(ConfigError, match="at most as wide as its teacher"):
        build_phase(config, "general", config.student, DistEnv())
    config = general_config(distill_root, tmp_path / "b", student=str(distill_root["teacher"]), init_from_teacher=True)
    with pytest.raises(ConfigError, match="would overwrite the trained weights"):
        build_phase(config, "general", config.student, DistEnv())


def test_a_run_records_what_it_copied(distill_root: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_distill(general_config(distill_root, out, init_from_teacher=True, max_steps=2))
    summary = json.loads((out / "distill_summary.json").read_text(encoding="utf-8"))
    assert summary["init_from_teacher"]["layers"] == [[1, 2], [2, 4]] and summary["init_from_teacher"]["cut"] > 0
