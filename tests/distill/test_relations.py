"""MiniLMv2 relations: the loss by hand, its invariances, and ``--attention-loss relation`` end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from transformers import BertModel
from typer.testing import CliRunner

from tests import tiny
from tests.distill.conftest import general_config, read_metrics
from tinyzh.cli import app
from tinyzh.distill import run_distill
from tinyzh.distill.distributed import DistEnv
from tinyzh.distill.phase import build_phase
from tinyzh.distill.relations import relation_kl, relation_kl_one, split_relation_heads
from tinyzh.errors import ConfigError


def _kl_by_hand(x_S: torch.Tensor, x_T: torch.Tensor, mask: torch.Tensor, heads: int) -> float:
    """The paper's L_ij with loops: concat heads, split into R, softmax(x x^T / sqrt(d_r)) over real keys."""
    total, rows = 0.0, 0
    for b in range(mask.size(0)):
        real = mask[b].bool()
        cat_S = x_S[b].transpose(0, 1).reshape(x_S.size(2), -1)[real]  # (t, D_S)
        cat_T = x_T[b].transpose(0, 1).reshape(x_T.size(2), -1)[real]
        for a in range(heads):
            parts = []
            for cat in (cat_S, cat_T):
                width = cat.size(1) // heads
                piece = cat[:, a * width:(a + 1) * width]
                parts.append(torch.softmax(piece @ piece.T / math.sqrt(width), dim=-1))
            p_S, p_T = parts
            total += (p_T * (p_T.log() - p_S.log())).sum().item()
            rows += int(real.sum())
    return total / rows


def _mask() -> torch.Tensor:
    return torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])


def test_split_concatenates_heads_then_splits() -> None:
    x = torch.arange(2 * 4 * 3 * 2, dtype=torch.float32).view(2, 4, 3, 2)  # (B, H=4, T, d=2): D = 8
    split = split_relation_heads(x, 2)  # (B, R=2, T, 4)
    assert split.shape == (2, 2, 3, 4)
    # relation head 0 of token t = attention heads 0 and 1 of token t, side by side
    assert torch.equal(split[1, 0, 2], torch.cat([x[1, 0, 2], x[1, 1, 2]]))
    assert torch.equal(split[1, 1, 2], torch.cat([x[1, 2, 2], x[1, 3, 2]]))


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_relation_kl_by_hand_across_widths_and_heads(heads: int) -> None:
    torch.manual_seed(0)
    x_S = torch.randn(2, 2, 5, 4)  # student: 2 heads of 4 -> width 8
    x_T = torch.randn(2, 4, 5, 6)  # teacher: 4 heads of 6 -> width 24
    mask = _mask()
    got = relation_kl_one(x_S, x_T, mask, heads).item()
    assert got == pytest.approx(_kl_by_hand(x_S, x_T, mask, heads), rel=1e-5)


def test_relation_kl_is_zero_for_the_same_vectors_and_ignores_padding() -> None:
    torch.manual_seed(1)
    qkv = tuple(torch.randn(2, 4, 5, 8) for _ in range(3))
    mask = _mask()
    assert relation_kl(qkv, qkv, mask, heads=4).item() == pytest.approx(0.0, abs=1e-6)
    other = tuple(torch.randn(2, 2, 5, 8) for _ in range(3))
    loss = relation_kl(other, qkv, mask, heads=4)
    changed = tuple(t.clone() for t in other)
    for t in changed:
        t[:, :, 4] = 99.0  # padded token of both rows
        t[1, :, 3] = -50.0  # padded token of row 1
    assert relation_kl(changed, qkv, mask, heads=4).item() == pytest.approx(loss.item(), rel=1e-6)
    # the mean of the three relations
    parts = [relation_kl_one(s, t, mask, 4) for s, t in zip(other, qkv, strict=True)]
    assert loss.item() == pytest.approx(sum(p.item() for p in parts) / 3, rel=1e-6)


def _qkv(model: BertModel, hidden: tuple[torch.Tensor, ...], layer: int) -> tuple[torch.Tensor, ...]:
    attn = model.encoder.layer[layer - 1].attention.self
    h = hidden[layer - 1]
    b, t, _ = h.shape
    shape = (b, t, attn.num_attention_heads, attn.attention_head_size)
    return tuple(proj(h).view(shape).transpose(1, 2) for proj in (attn.query, attn.key, attn.value))


def test_phase_term_is_the_relation_of_the_mapped_layers(distill_root: dict[str, Path], tmp_path: Path) -> None:
    """Student with 2 heads and width 32 against a teacher with 4 heads and width 64: heads may differ."""
    student = tiny.save_tiny_bert(tmp_path / "s", distill_root["vocab"], kind="mlm", layers=2, hidden=32, heads=2)
    config = general_config(distill_root, tmp_path / "out", student=str(student / "config.json"),
                            attention_loss="relation", relation_heads=8)
    phase = build_phase(config, "general", config.student, DistEnv())
    assert phase.student.config.num_attention_heads == 2 and phase.teacher.config.num_attention_heads == 4
    phase.student.eval()
    batch = phase.data.collate([phase.data.dataset[i] for i in range(3)])
    terms = phase.loss_terms(batch)
    assert {"relation_1", "relation_2", "hidden_2", "embedding"} <= set(terms) and "attention_1" not in terms
    teacher = BertModel.from_pretrained(str(distill_root["teacher"])).eval()
    inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    with torch.no_grad():
        hid_T = teacher(**inputs, output_hidden_states=True).hidden_states
        hid_S = phase.student.bert(**inputs, output_hidden_states=True).hidden_states
        for s, t in phase.layer_map[1:]:
            expected = relation_kl(_qkv(phase.student.bert, hid_S, s), _qkv(teacher, hid_T, t),
                                   batch["attention_mask"], heads=8)
            assert terms[f"relation_{s}"].item() == pytest.approx(expected.item(), rel=1e-4)


def test_general_run_with_relations_learns(distill_root: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_distill(general_config(distill_root, out, attention_loss="relation", max_steps=12))
    rows = read_metrics(out)
    assert all(math.isfinite(r["relation_2"]) and r["relation_2"] >= 0 for r in rows)
    assert rows[-1]["relation_2"] < rows[0]["relation_2"]
    stored = json.loads((out / "distill_config.json").read_text(encoding="utf-8"))
    assert stored["attention_loss"] == "relation" and stored["relation_heads"] is None


def test_relation_heads_errors(distill_root: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="applies to --attention-loss relation only"):
        general_config(distill_root, tmp_path / "a", relation_heads=4)
    config = general_config(distill_root, tmp_path / "b", attention_loss="relation", relation_heads=3)
    with pytest.raises(ConfigError, match="--relation-heads 3 does not divide the hidden width of the student 32"):
        build_phase(config, "general", config.student, DistEnv())


def test_cli_relation_option(distill_root: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["distill", "--data", str(distill_root["pregen"]), "--output", str(out), "--teacher",
            str(distill_root["teacher"]), "--student", str(distill_root["student"]), "--batch-size", "4",
            "--max-steps", "2", "--workers", "0", "--no-progress", "--logging-steps", "1",
            "--attention-loss", "relation", "--relation-heads", "16", "--init-from-teacher"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    stored = json.loads((out / "distill_config.json").read_text(encoding="utf-8"))
    assert stored["relation_heads"] == 16 and stored["init_from_teacher"] is True
    assert "relation_1" in read_metrics(out)[0]
    assert json.loads((out / "distill_summary.json").read_text(encoding="utf-8"))["init_from_teacher"]["cut"] > 0


def test_a_run_stored_before_the_new_options_still_resumes(distill_root: dict[str, Path], tmp_path: Path) -> None:
    """A stored config without relation_heads / init_from_teacher / cache_teacher_logits used their defaults."""
    config = general_config(distill_root, tmp_path / "out")
    old = {k: v for k, v in config.to_dict().items()
           if k not in ("relation_heads", "init_from_teacher", "cache_teacher_logits")}
    assert config.differences(old) == []
    changed = general_config(distill_root, tmp_path / "out", init_from_teacher=True)
    assert changed.differences(old) == ["init_from_teacher"]
