"""``--hidden-loss normalised``: the phase's hidden terms are the normalised error of the mapped layers,
the option reaches ``distill_config.json`` and the CLI, and a config recorded before it still matches."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import BertModel
from typer.testing import CliRunner

from tests.distill.conftest import general_config, read_metrics
from tinyzh.cli import app
from tinyzh.distill import run_distill
from tinyzh.distill.distributed import DistEnv
from tinyzh.distill.losses import hidden_mse, hidden_normalised
from tinyzh.distill.phase import build_phase
from tinyzh.errors import ConfigError


def _terms(config) -> tuple[dict[str, torch.Tensor], Any, dict[str, torch.Tensor]]:
    """The loss terms of the first batch, student in eval mode (no dropout): a new phase starts from the
    same seeded student and projection, so two configs differ only in their losses."""
    phase = build_phase(config, "general", config.student, DistEnv())
    phase.student.eval()
    batch = phase.data.collate([phase.data.dataset[i] for i in range(3)])
    return phase.loss_terms(batch), phase, batch


def test_normalised_terms_are_mse_over_the_teachers_spread(distill_root: dict[str, Path], tmp_path: Path) -> None:
    plain, phase_mse, batch = _terms(general_config(distill_root, tmp_path / "a"))
    normalised, phase, _ = _terms(general_config(distill_root, tmp_path / "b", hidden_loss="normalised"))
    assert {m.loss for m in phase.matches if m.feature == "hidden"} == {"hidden_normalised"}
    assert {m.loss for m in phase_mse.matches if m.feature == "hidden"} == {"hidden_mse"}
    mask = batch["attention_mask"]
    teacher = BertModel.from_pretrained(str(distill_root["teacher"])).eval()
    inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    with torch.no_grad():
        states = teacher(**inputs, output_hidden_states=True).hidden_states
    for name in ("embedding", "hidden_1", "hidden_2"):
        layer_T = dict(phase.layer_map)[0 if name == "embedding" else int(name[-1])]
        h_T = states[layer_T]
        ones = torch.ones_like(h_T)  # any student state: the ratio of the two losses is the teacher's alone
        ratio = (hidden_normalised(ones, h_T, mask) / hidden_mse(ones, h_T, mask)).item()
        # same student (same seed), same error: only the teacher's per-batch spread differs
        assert normalised[name].item() == pytest.approx(plain[name].item() * ratio, rel=1e-4)
    assert all(normalised[k].item() == pytest.approx(plain[k].item(), rel=1e-5) for k in plain
               if k.startswith("attention"))


def test_general_run_with_the_normalised_loss_learns(distill_root: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_distill(general_config(distill_root, out, hidden_loss="normalised", max_steps=12))
    rows = read_metrics(out)
    assert all(math.isfinite(r["hidden_2"]) for r in rows)
    assert rows[-1]["hidden_2"] < rows[0]["hidden_2"]
    assert json.loads((out / "distill_config.json").read_text(encoding="utf-8"))["hidden_loss"] == "normalised"


def test_bad_value_and_cli(distill_root: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--hidden-loss 'cosine' is not one of: mse, normalised"):
        general_config(distill_root, tmp_path / "a", hidden_loss="cosine")
    out = tmp_path / "out"
    args = ["distill", "--data", str(distill_root["pregen"]), "--output", str(out), "--teacher",
            str(distill_root["teacher"]), "--student", str(distill_root["student"]), "--batch-size", "4",
            "--max-steps", "2", "--workers", "0", "--no-progress", "--hidden-loss", "normalised"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "distill_config.json").read_text(encoding="utf-8"))["hidden_loss"] == "normalised"


def test_identity_leaves_the_default_out(distill_root: dict[str, Path], tmp_path: Path) -> None:
    """A recipe stage fingerprints ``identity()``: runs recorded before the option keep their fingerprint."""
    config = general_config(distill_root, tmp_path / "out")
    assert "hidden_loss" not in config.identity()
    assert config.replace(hidden_loss="normalised").identity()["hidden_loss"] == "normalised"
    old = {k: v for k, v in config.to_dict().items() if k != "hidden_loss"}
    assert config.differences(old) == []
    assert config.replace(hidden_loss="normalised").differences(old) == ["hidden_loss"]
