"""General distillation end to end on tiny models: learning, output format, resume, CLI errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests import tiny
from tests.distill.conftest import general_config, read_metrics, write_student_config
from tinyzh.cli import app
from tinyzh.distill import run_distill


def test_losses_finite_and_going_down(distill_root: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    results = run_distill(general_config(distill_root, out, max_steps=30, lr=3e-3, warmup=0.0))
    rows = read_metrics(out)
    assert [r["step"] for r in rows] == list(range(1, 31))
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
    first, last = sum(r["loss"] for r in rows[:3]) / 3, sum(r["loss"] for r in rows[-3:]) / 3
    assert last < 0.8 * first
    expected_keys = {"embedding", "hidden_1", "hidden_2", "attention_1", "attention_2", "lr", "samples_per_s"}
    assert expected_keys <= set(rows[0])
    assert rows[0]["loss"] == pytest.approx(sum(rows[0][k] for k in expected_keys - {"lr", "samples_per_s"}))
    assert results[0].finished and results[0].steps == 30


def test_output_is_an_ordinary_hf_checkpoint(distill_root: dict[str, Path], tmp_path: Path) -> None:
    from safetensors.torch import load_model
    from transformers import AutoModel, AutoModelForSequenceClassification, BertConfig, BertForMaskedLM

    from tinyzh.hf import load_hf_tokenizer

    out = tmp_path / "out"
    run_distill(general_config(distill_root, out, max_steps=4, mlm_weight=1.0))
    assert {"config.json", "model.safetensors", "distill_config.json", "distill_summary.json",
            "metrics.jsonl"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "distill_config.json").read_text(encoding="utf-8"))["mlm_weight"] == 1.0
    # The trained weights, straight from the last training checkpoint.
    trained = BertForMaskedLM(BertConfig.from_pretrained(str(out))).eval()
    load_model(trained, str(out / "checkpoints" / "step-000004" / "student.safetensors"))
    tokenizer = load_hf_tokenizer(str(out))
    batch = tokenizer(["我们今天去北京", "手机很好"], padding=True, return_tensors="pt")
    loaded = AutoModel.from_pretrained(str(out)).eval()
    with torch.no_grad():
        expected = trained.bert(**batch).last_hidden_state
        assert torch.allclose(loaded(**batch).last_hidden_state, expected, atol=1e-5)
    classifier = AutoModelForSequenceClassification.from_pretrained(str(out), num_labels=3)
    assert classifier(**batch).logits.shape == (2, 3)


def test_interrupted_then_resumed_equals_uninterrupted(distill_root: dict[str, Path], tmp_path: Path) -> None:
    from safetensors.torch import load_file

    # Dropout on and two accumulation steps: the resumed run must restore RNG and data position.
    student = write_student_config(tmp_path / "student.json", len(tiny.vocab_tokens()))
    config = json.loads(student.read_text(encoding="utf-8"))
    config.update(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    student.write_text(json.dumps(config), encoding="utf-8")
    n = len(__import__("tinyzh.pregen", fromlist=["PregenDataset"]).PregenDataset(distill_root["pregen"]))
    batch = 8 if n >= 24 else 4  # several steps per epoch, and more than one epoch
    common = dict(student=str(student), batch_size=batch, grad_accum=2, epochs=2, max_steps=None,
                  save_steps=2, logging_steps=1)
    straight = run_distill(general_config(distill_root, tmp_path / "a", **common))[0]
    total = straight.total_steps
    assert total > n // batch  # crosses an epoch boundary
    first = run_distill(general_config(distill_root, tmp_path / "b", stop_after=3, **common))[0]
    assert not first.finished and first.steps == 3 and (tmp_path / "b" / "checkpoints" / "latest.json").exists()
    # As if killed while writing step 3's checkpoint: resume from step 2, redoing step 3.
    checkpoints = tmp_path / "b" / "checkpoints"
    (checkpoints / "latest.json").write_text(json.dumps({"path": "step-000002", "step": 2}), encoding="utf-8")
    second = run_distill(general_config(distill_root, tmp_path / "b", **common))[0]
    assert second.resumed_from == 2 and second.finished
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    losses_a = [r["loss"] for r in read_metrics(tmp_path / "a")]
    losses_b = [r["loss"] for r in read_metrics(tmp_path / "b")]
    assert losses_a == losses_b


def test_resume_refuses_a_changed_config(distill_root: dict[str, Path], tmp_path: Path) -> None:
    from tinyzh.errors import ConfigError

    out = tmp_path / "out"
    run_distill(general_config(distill_root, out, stop_after=1))
    with pytest.raises(ConfigError, match="--lr"):
        run_distill(general_config(distill_root, out, lr=5e-4))
    with pytest.raises(ConfigError, match="no checkpoint"):
        run_distill(general_config(distill_root, tmp_path / "fresh", resume=True))
    assert run_distill(general_config(distill_root, out, lr=5e-4, resume=False))[0].finished


def _flat(text: str) -> str:
    """Rich wraps long error lines; compare with single spaces."""
    return " ".join(text.split())


def _cli(paths: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["distill", "--stage", "general", "--data", str(paths["pregen"]), "--output", str(out),
            "--teacher", str(paths["teacher"]), "--student", str(paths["student"]), "--batch-size", "4",
            "--workers", "0", "--no-progress", *extra]


def test_cli_runs_and_prints_a_summary(distill_root: dict[str, Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _cli(distill_root, tmp_path / "out", "--max-steps", "2",
                                          "--precision", "bf16", "--attention-loss", "kl",
                                          "--projection", "per-layer", "--layer-map", "0:0,1:1,2:4", "--workers", "1"))
    assert result.exit_code == 0, result.output
    assert "general" in result.output and "2/2" in result.output
    row = read_metrics(tmp_path / "out")[-1]
    assert row["step"] == 2 and {"attention_1", "attention_2"} <= set(row)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--layer-map", "0:0,1:9"], "out of range"),
        (["--layer-map", "1=2"], "STUDENT:TEACHER"),
        (["--precision", "fp8"], "--precision 'fp8' is not one of"),
        (["--batch-size", "6", "--grad-accum", "4"], "multiple of --grad-accum"),
    ],
)
def test_cli_option_errors(distill_root: dict[str, Path], tmp_path: Path, extra: list[str], message: str) -> None:
    result = CliRunner().invoke(app, _cli(distill_root, tmp_path / "out", *extra))
    assert result.exit_code == 1
    assert message in _flat(result.output)


def test_cli_vocabulary_and_depth_errors(distill_root: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    wrong_vocab = write_student_config(tmp_path / "s1.json", 500)
    result = runner.invoke(app, _cli(distill_root, tmp_path / "o1", "--student", str(wrong_vocab)))
    assert result.exit_code == 1 and "vocabulary mismatch" in result.output
    three = write_student_config(tmp_path / "s3.json", len(tiny.vocab_tokens()), layers=3)
    result = runner.invoke(app, _cli(distill_root, tmp_path / "o2", "--student", str(three)))
    assert result.exit_code == 1 and "multiple of the student's 3" in _flat(result.output)
    # A teacher with another vocabulary than the one the pregen data was built with.
    other_vocab = tiny.write_vocab(tmp_path / "v2")
    with (other_vocab / "vocab.txt").open("a", encoding="utf-8") as fh:
        fh.write("额外\n")
    other = tiny.save_tiny_bert(tmp_path / "t2", other_vocab, kind="mlm", layers=4, hidden=64)
    result = runner.invoke(app, _cli(distill_root, tmp_path / "o3", "--teacher", str(other)))
    assert result.exit_code == 1 and "built with another tokenizer" in _flat(result.output)
