"""One fixed batch through Phase.loss_terms against the same terms computed independently."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertForMaskedLM, BertModel

from tests.distill.conftest import general_config
from tinyzh.distill.distributed import DistEnv
from tinyzh.distill.phase import build_phase


def _scores(model: BertModel, hidden: tuple[torch.Tensor, ...], layer: int) -> torch.Tensor:
    """(B, H, T, T) pre-softmax scores of ``layer`` (1-based) from its input hidden state."""
    attn = model.encoder.layer[layer - 1].attention.self
    h = hidden[layer - 1]
    b, t, _ = h.shape
    heads, d = attn.num_attention_heads, attn.attention_head_size
    q = attn.query(h).view(b, t, heads, d).transpose(1, 2)
    k = attn.key(h).view(b, t, heads, d).transpose(1, 2)
    return q @ k.transpose(2, 3) / d**0.5


def _by_hand(s_S: torch.Tensor, s_T: torch.Tensor, mask: torch.Tensor) -> float:
    total, count = 0.0, 0
    for b in range(mask.size(0)):
        valid = mask[b].bool()
        block = (s_S[b][:, valid][:, :, valid] - s_T[b][:, valid][:, :, valid]) ** 2  # (H, t, t)
        total, count = total + block.sum().item(), count + block.numel()
    return total / count


@pytest.mark.parametrize("mlm_weight", [0.0, 0.5])
def test_each_term_matches_an_independent_computation(distill_root: dict[str, Path], tmp_path: Path,
                                                      mlm_weight: float) -> None:
    config = general_config(distill_root, tmp_path / "out", mlm_weight=mlm_weight)
    phase = build_phase(config, "general", config.student, DistEnv())
    batch = phase.data.collate([phase.data.dataset[i] for i in range(3)])
    phase.student.eval()
    terms = phase.loss_terms(batch)
    assert phase.layer_map == [(0, 0), (1, 2), (2, 4)]

    teacher = BertModel.from_pretrained(str(distill_root["teacher"]), attn_implementation="eager").eval()
    student: BertForMaskedLM = phase.student
    inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    mask = batch["attention_mask"]
    with torch.no_grad():
        hid_T = teacher(**inputs, output_hidden_states=True).hidden_states
        out_S = student.bert(**inputs, output_hidden_states=True)
        hid_S = out_S.hidden_states
        proj = phase.projections.shared
        for s, t in phase.layer_map:
            diff = (proj(hid_S[s]) - hid_T[t])[mask.bool()]  # (real tokens, 64)
            name = "embedding" if s == 0 else f"hidden_{s}"
            assert terms[name].item() == pytest.approx(diff.pow(2).mean().item(), rel=1e-4)
            if s:
                expected = _by_hand(_scores(student.bert, hid_S, s), _scores(teacher, hid_T, t), mask)
                assert terms[f"attention_{s}"].item() == pytest.approx(expected, rel=1e-4)
        if mlm_weight:
            labels = batch["labels"]
            logits = student.cls(out_S.last_hidden_state)[labels != -100]
            expected = torch.nn.functional.cross_entropy(logits, labels[labels != -100]).item()
            assert terms["mlm"].item() == pytest.approx(mlm_weight * expected, rel=1e-4)
        else:
            assert "mlm" not in terms


def test_bf16_terms_track_fp32(distill_root: dict[str, Path], tmp_path: Path) -> None:
    """The bf16 path (teacher held in bf16, student under autocast) computes the same terms, roughly."""
    terms = {}
    for precision in ("fp32", "bf16"):
        config = general_config(distill_root, tmp_path / precision, precision=precision)
        phase = build_phase(config, "general", config.student, DistEnv())
        assert next(phase.teacher.parameters()).dtype == (torch.bfloat16 if precision == "bf16" else torch.float32)
        phase.student.eval()
        batch = phase.data.collate([phase.data.dataset[i] for i in range(4)])
        terms[precision] = {k: v.item() for k, v in phase.loss_terms(batch).items()}
    for name, value in terms["fp32"].items():
        assert terms["bf16"][name] == pytest.approx(value, rel=0.05), name


def test_metrics_log_survives_a_torn_last_line(tmp_path) -> None:
    import json

    from tinyzh.distill.progress import MetricsLog

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n{"step": 3, "lo', encoding="utf-8")
    MetricsLog(path, enabled=True).keep_until(2)  # a run killed mid-append, resumed from step 2
    assert [json.loads(line)["step"] for line in path.read_text(encoding="utf-8").splitlines()] == [1, 2]
