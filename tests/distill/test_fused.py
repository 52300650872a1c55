"""The frozen teacher's oneDNN fusions (tinyzh.distill.fused): same outputs, wired into build_phase."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from tests import tiny
from tests.distill.conftest import general_config
from tinyzh.distill import fused
from tinyzh.distill.adaptor import capture_scores
from tinyzh.distill.distributed import DistEnv
from tinyzh.distill.wrappers import teacher_forward

needs_onednn = pytest.mark.skipif(fused._linear_pointwise() is None,
                                  reason="this PyTorch build has no oneDNN fused linear (torch.ops.mkldnn)")


def _teacher(act: str = "gelu", dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    from transformers import BertForSequenceClassification

    torch.manual_seed(3)
    config = tiny.tiny_bert_config(60, layers=3, hidden=32, heads=4, num_labels=5, hidden_act=act)
    config._attn_implementation = "sdpa"
    model = BertForSequenceClassification(config).eval().requires_grad_(False).to(dtype)
    capture_scores(model, {1, 3})
    return model


def _inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(4)
    ids = torch.randint(5, 60, (3, 9), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0  # one padded row: the masks must still apply
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def _outputs(model: torch.nn.Module) -> list[torch.Tensor]:
    out = teacher_forward(model, _inputs(), hidden=True, logits=True)
    return [*out["hidden"], *out["attention"].values(), out["logits"]]


@needs_onednn
def test_fused_teacher_gives_the_plain_forward_in_fp32() -> None:
    model = _teacher()
    keys = set(model.state_dict())
    before = _outputs(model)
    assert fused.fuse_teacher(model) == 3 * (1 + 2 + 3)  # per layer: intermediate, 2 outputs, q/k/v
    layer = model.bert.encoder.layer[0]
    assert isinstance(layer.intermediate, fused.FusedIntermediate)
    assert isinstance(layer.attention.output, fused.FusedOutput) and isinstance(layer.output, fused.FusedOutput)
    assert isinstance(layer.attention.self.query, fused.FusedLinear)
    assert set(model.state_dict()) == keys  # the same weights under the same names
    after = _outputs(model)
    assert len(after) == len(before) == 4 + 2 + 1
    for a, b in zip(after, before, strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_other_activations_keep_their_feed_forward() -> None:
    model = _teacher(act="gelu_new")  # tanh-approximate GELU: oneDNN's "gelu" post-op would be erf
    before = _outputs(model)
    assert fused.fuse_teacher(model) == 3 * (2 + 3)
    assert not isinstance(model.bert.encoder.layer[0].intermediate, fused.FusedIntermediate)
    for a, b in zip(_outputs(model), before, strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not fused.bf16_supported(), reason="this CPU has no native bf16 in oneDNN (AMX / AVX-512 bf16)")
def test_fused_bf16_teacher_tracks_the_unfused_one() -> None:
    model = _teacher(dtype=torch.bfloat16)
    before = _outputs(model)
    fused.fuse_teacher(model)
    for a, b in zip(_outputs(model), before, strict=True):
        assert a.dtype == torch.bfloat16
        scale = b.float().abs().max()
        assert ((a.float() - b.float()).abs().max() / scale).item() < 0.05  # bf16 rounding, once less


def test_fusion_applies_only_to_an_eager_bf16_cpu_run() -> None:
    cpu = torch.device("cpu")
    assert not fused.can_fuse(None, cpu, compiled=False)  # fp32: the GEMMs dominate, left as they are
    assert not fused.can_fuse(torch.bfloat16, cpu, compiled=True)  # inductor fuses the graph itself
    assert not fused.can_fuse(torch.bfloat16, torch.device("cuda"), compiled=False)
    native = fused._linear_pointwise() is not None and fused.bf16_supported()
    assert fused.can_fuse(torch.bfloat16, cpu, compiled=False) == native


@needs_onednn
def test_build_phase_fuses_the_teacher_where_it_applies(distill_root: dict[str, Path], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyzh.distill import phase as phase_module

    config = general_config(distill_root, tmp_path / "plain")
    plain = phase_module.build_phase(config, "general", config.student, DistEnv())
    assert not any(isinstance(m, fused.FusedLinear) for m in plain.teacher.modules())
    # As on an AMX CPU under bf16, here in fp32 so that the terms must agree closely.
    monkeypatch.setattr(phase_module, "can_fuse", lambda dtype, device, compiled: True)
    config = general_config(distill_root, tmp_path / "fused")
    fast = phase_module.build_phase(config, "general", config.student, DistEnv())
    assert sum(isinstance(m, fused.FusedIntermediate) for m in fast.teacher.modules()) == 4
    batch = plain.data.collate([plain.data.dataset[i] for i in range(3)])
    plain.student.eval()
    fast.student.eval()
    expected = plain.loss_terms(batch)
    got = fast.loss_terms(batch)
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].item() == pytest.approx(value.item(), rel=1e-5), name
    sum(got.values()).backward()  # the student's graph is intact; the teacher has no gradients
    assert all(p.grad is None for p in fast.teacher.parameters())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_keep_freed_memory_takes_on_linux() -> None:
    assert fused.keep_freed_memory() is True
    big = torch.empty(64 * 1024 * 1024, dtype=torch.uint8).fill_(1)  # above glibc's mmap threshold
    assert int(big.sum()) == big.numel()  # memory still works as memory
