"""The frozen teacher's oneDNN fusions (tinyzh.distill.fused): same outputs, wired into build_phase."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from tests import tiny
from tests.distill.conftest import general_config
from tinyzh.distill import fused
from tinyzh.distill.adaptor import capture_scores
from tinyzh.distill.distributed import DistEnv
from tinyzh.distill.wrappers import teacher_forward

needs_onednn = pytest.mark.skipif(fused._linear_pointwise() is None,
                                  reason="this PyTorch build has no oneDNN fused linear (torch.ops.mkldnn)")
PER_LAYER = 1 + 2 + 3  # intermediate, the attention's and the layer's output, query / key / value


def _teacher(act: str = "gelu", dtype: torch.dtype = torch.float32, family: str = "bert") -> nn.Module:
    from transformers import (
        BertForSequenceClassification,
        RobertaPreLayerNormConfig,
        RobertaPreLayerNormModel,
    )

    torch.manual_seed(3)
    config = tiny.tiny_bert_config(60, layers=3, hidden=32, heads=4, num_labels=5, hidden_act=act)
    if family == "bert":
        model = BertForSequenceClassification(config)
    else:  # pre-LayerNorm blocks: LayerNorm -> dense -> act, and outputs without a LayerNorm
        model = RobertaPreLayerNormModel(RobertaPreLayerNormConfig(**config.to_dict()), add_pooling_layer=False)
    model.config._attn_implementation = "sdpa"
    model = model.eval().requires_grad_(False).to(dtype)
    capture_scores(model, {1, 3})
    return model


def _inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(4)
    ids = torch.randint(5, 60, (3, 9), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0  # one padded row: the masks must still apply
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def _outputs(model: nn.Module) -> list[torch.Tensor]:
    logits = hasattr(model, "classifier")
    out = teacher_forward(model, _inputs(), hidden=True, logits=logits)
    return [*out["hidden"], *out["attention"].values(), *([out["logits"]] if logits else [])]


def _assert_close(got: list[torch.Tensor], expected: list[torch.Tensor]) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_fused_teacher_gives_the_plain_forward_in_fp32() -> None:
    model = _teacher()
    keys = set(model.state_dict())
    before = _outputs(model)
    assert fused.fuse_teacher(model) == 3 * PER_LAYER
    layer = model.bert.encoder.layer[0]
    assert isinstance(layer.intermediate, fused.FusedIntermediate)
    assert isinstance(layer.attention.output, fused.FusedOutput) and isinstance(layer.output, fused.FusedOutput)
    assert isinstance(layer.attention.self.query, fused.FusedLinear)
    assert set(model.state_dict()) == keys  # the same weights under the same names
    calls = []
    op = layer.intermediate._op
    layer.intermediate._op = lambda *args: calls.append(args[3]) or op(*args)  # type: ignore[assignment]
    _assert_close(_outputs(model), before)
    assert calls == ["gelu"]  # eval and no_grad: the fused op ran, not the plain fallback
    assert len(before) == 4 + 2 + 1
    assert fused.fuse_teacher(model) == 0  # already fused: nothing to do twice


@needs_onednn
def test_other_activations_and_layouts_keep_their_blocks() -> None:
    model = _teacher(act="gelu_new")  # tanh-approximate GELU: oneDNN's "gelu" post-op is erf
    before = _outputs(model)
    assert fused.fuse_teacher(model) == 3 * (PER_LAYER - 1)
    assert not isinstance(model.bert.encoder.layer[0].intermediate, fused.FusedIntermediate)
    _assert_close(_outputs(model), before)
    pre_norm = _teacher(family="roberta_prelayernorm")
    before = _outputs(pre_norm)
    assert fused.fuse_teacher(pre_norm) == 3 * 3  # only query / key / value: its blocks are not BERT's
    _assert_close(_outputs(pre_norm), before)


class OddOutput(nn.Module):
    """BERT's children and arguments, another computation: only the probe can tell."""

    def __init__(self) -> None:
        super().__init__()
        self.dense, self.dropout, self.LayerNorm = nn.Linear(8, 4), nn.Dropout(0.1), nn.LayerNorm(4)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(hidden_states)) - input_tensor


@needs_onednn
def test_a_block_whose_fused_form_disagrees_is_left_alone() -> None:
    holder = nn.Module()
    holder.output = OddOutput().eval()
    assert fused.fuse_teacher(holder) == 0
    assert isinstance(holder.output, OddOutput)


@needs_onednn
def test_the_probe_runs_the_fused_op_and_rejects_a_wrong_one(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fused._linear_pointwise()

    def skewed(out: torch.Tensor) -> torch.Tensor:  # not a shift or a scale: a LayerNorm after it still shows it
        return out + torch.linspace(0, 1, out.size(-1), dtype=out.dtype)

    class WrongOp:  # a fused op that computes something else: no block may take it
        def __call__(self, *args: object) -> torch.Tensor:
            return skewed(real(*args))

        def binary(self, *args: object) -> torch.Tensor:
            return skewed(real.binary(*args))

    monkeypatch.setattr(fused, "_linear_pointwise", lambda: WrongOp())
    model = _teacher()
    before = _outputs(model)
    assert fused.fuse_teacher(model) == 0
    _assert_close(_outputs(model), before)


@needs_onednn
def test_fused_blocks_run_plain_ops_with_gradients_or_in_training() -> None:
    model = _teacher()
    fused.fuse_teacher(model)
    block = model.bert.encoder.layer[0].output
    h = torch.randn(2, 5, 64, requires_grad=True)
    residual = torch.randn(2, 5, 32)
    out = block(h, residual)  # gradients on: the fused op has no backward
    out.sum().backward()
    assert h.grad is not None and h.grad.abs().sum() > 0
    block.train()
    with torch.no_grad():  # training mode alone (no gradients) must also take the plain ops
        torch.manual_seed(0)
        dropped = block(h.detach(), residual)
        block.eval()
        assert not torch.allclose(dropped, block(h.detach(), residual))  # training: dropout applied


@pytest.mark.skipif(not fused.bf16_native(), reason="this CPU has no bf16 matmul instructions (AMX / AVX-512 bf16)")
def test_fused_bf16_teacher_is_as_close_to_fp32_as_the_unfused_one() -> None:
    reference = _outputs(_teacher())
    model = _teacher(dtype=torch.bfloat16)
    plain = _outputs(model)
    assert fused.fuse_teacher(model) == 3 * PER_LAYER
    for got, unfused, exact in zip(_outputs(model), plain, reference, strict=True):
        assert got.dtype == torch.bfloat16
        error_fused = (got.float() - exact).abs().max().item()
        error_plain = (unfused.float() - exact).abs().max().item()
        assert error_fused <= 2 * error_plain + 1e-3  # bf16 rounding, not a different computation


def test_fusion_applies_only_to_an_eager_bf16_cpu_run() -> None:
    cpu = torch.device("cpu")
    assert not fused.can_fuse(None, cpu, compiled=False)  # fp32: the GEMMs dominate, left as they are
    assert not fused.can_fuse(torch.bfloat16, cpu, compiled=True)  # inductor fuses the graph itself
    assert not fused.can_fuse(torch.bfloat16, torch.device("cuda"), compiled=False)


@needs_onednn
def test_build_phase_fuses_the_teacher_where_it_applies(distill_root: dict[str, Path], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyzh.distill import phase as phase_module

    config = general_config(distill_root, tmp_path / "plain")
    plain = phase_module.build_phase(config, "general", config.student, DistEnv())
    assert plain.teacher_fused == 0
    assert not any(isinstance(m, fused.FUSED) for m in plain.teacher.modules())
    # As on an AMX CPU under bf16, here in fp32 so that the terms must agree closely.
    monkeypatch.setattr(phase_module, "can_fuse", lambda dtype, device, compiled: True)
    config = general_config(distill_root, tmp_path / "fused")
    fast = phase_module.build_phase(config, "general", config.student, DistEnv())
    assert fast.teacher_fused == 4 * PER_LAYER
    batch = plain.data.collate([plain.data.dataset[i] for i in range(3)])
    plain.student.eval()
    fast.student.eval()
    expected, got = plain.loss_terms(batch), fast.loss_terms(batch)
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].item() == pytest.approx(value.item(), rel=1e-5), name


_PROBE = "from tinyzh.distill.fused import keep_freed_memory; print(keep_freed_memory())"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_freed_memory_takes_on_glibc_unless_told_not_to() -> None:
    env = {k: v for k, v in os.environ.items() if k not in fused.MALLOC_ENVS + (fused.OPT_OUT_ENV, "LD_PRELOAD")}

    def probe(**extra: str) -> str:  # a child process: the setting is process-wide
        run = subprocess.run([sys.executable, "-c", _PROBE], env={**env, **extra}, capture_output=True, text=True,
                             check=True)
        return run.stdout.strip()

    assert probe() == "True"
    assert probe(**{fused.OPT_OUT_ENV: "1"}) == "False"
    assert probe(MALLOC_TRIM_THRESHOLD_="1000000") == "False"  # the user's own setting wins
