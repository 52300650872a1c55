"""``tinyzh export``: files round-trip, outputs match PyTorch, int8 is smaller, bad options are errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests import tiny
from tinyzh.cli import app
from tinyzh.errors import ConfigError
from tinyzh.export import ExportConfig, export_model
from tinyzh.export.model import example_inputs, load_for_export
from tinyzh.export.torchscript_format import load_torchscript

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))
needs_onnx = pytest.mark.skipif(
    not HAS_ONNX, reason="onnx, onnxscript and onnxruntime are needed: pip install 'tinyzh[export]'"
)
QUICK = {"runs": 1, "warmup": 0, "seq_len": 16}


@pytest.fixture(scope="module")
def cls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny 2-layer sequence classifier with 3 labels (hidden 64)."""
    root = tmp_path_factory.mktemp("cls")
    return tiny.save_tiny_bert(
        root / "model", tiny.write_vocab(root / "vocab"), kind="cls", layers=2, num_labels=3
    )


def _pytorch_logits(model_dir: Path, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    with torch.no_grad():
        return load_for_export(model_dir)(*inputs)


@needs_onnx
def test_onnx_round_trip_matches_pytorch(cls_dir: Path, tmp_path: Path) -> None:
    import onnxruntime as ort

    output = tmp_path / "deploy" / "student.onnx"
    report = export_model(ExportConfig(cls_dir, format="onnx", output=output, **QUICK))
    assert [row.variant for row in report.rows] == ["pytorch", "onnx unfused", "onnx"]
    assert report.fusions["Attention"] == 2  # both layers fused
    assert report.chosen in ("onnx", "onnx unfused")  # the faster fp32 graph is kept
    # A fresh session on a batch shape the exporter never saw, with padding: dynamic axes and masks work.
    inputs = example_inputs(load_for_export(cls_dir), batch_size=4, seq_len=23, seed=7)
    session = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"])
    names = ("input_ids", "attention_mask", "token_type_ids")
    (logits,) = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})
    expected = _pytorch_logits(cls_dir, inputs)
    assert logits.shape == (4, 3)
    torch.testing.assert_close(torch.from_numpy(logits), expected, atol=1e-4, rtol=1e-3)
    # Deployable on its own: tokenizer and config beside the file, figures in the side file.
    assert {"config.json", "tokenizer.json"} <= set(report.copied)
    side = json.loads((tmp_path / "deploy" / "student.onnx.json").read_text(encoding="utf-8"))
    assert side["config"]["format"] == "onnx" and side["rows"][2]["max_abs_diff"] < 1e-4


@needs_onnx
def test_cli_onnx_int8_is_smaller(cls_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "student.int8.onnx"
    args = [
        "export",
        str(cls_dir),
        "--format",
        "onnx",
        "--quantize",
        "int8",
        "-o",
        str(output),
        "--runs",
        "1",
    ]
    result = CliRunner().invoke(app, [*args, "--seq-len", "16"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "onnx int8 static" in result.output and "speed-up" in result.output
    side = json.loads(output.with_name(output.name + ".json").read_text(encoding="utf-8"))
    rows = {row["variant"]: row for row in side["rows"]}
    chosen = rows[side["chosen"]]
    assert side["chosen"].startswith("onnx int8") and chosen["note"] == "chosen: fastest, ungated"
    assert output.stat().st_size == chosen["size_bytes"] < rows["onnx"]["size_bytes"]
    assert rows["onnx"]["path"] == "(not kept)" and chosen["path"] == str(output)  # only the chosen file
    assert all(rows[name]["max_abs_diff"] < 0.05 for name in rows if "int8" in name)  # close, not exact


def test_torchscript_round_trip_and_int8(cls_dir: Path, tmp_path: Path) -> None:
    fp32 = export_model(ExportConfig(cls_dir, format="torchscript", output=tmp_path / "m.pt", **QUICK))
    int8 = export_model(
        ExportConfig(cls_dir, format="torchscript", quantize="int8", output=tmp_path / "q.pt", **QUICK)
    )
    inputs = example_inputs(load_for_export(cls_dir), batch_size=5, seq_len=9, seed=3)
    expected = _pytorch_logits(cls_dir, inputs)
    for path, atol in ((fp32.output, 1e-5), (int8.output, 0.05)):
        with torch.no_grad():
            got = load_torchscript(path)(*inputs)
        torch.testing.assert_close(got, expected, atol=atol, rtol=0)
    assert int8.output.stat().st_size < fp32.output.stat().st_size


@needs_onnx
@pytest.mark.parametrize("model_type", ["xlm-roberta", "ernie"])
def test_other_families_fuse_and_match(model_type: str, tmp_path: Path) -> None:
    """The "any teacher" families get the same fusions and stay within fp32 tolerance."""
    tok = tiny.write_spm_tokenizer(tmp_path / "tok")
    model_dir = tiny.save_tiny_model(tmp_path / model_type, tok, model_type=model_type, kind="cls", layers=2)
    report = export_model(ExportConfig(model_dir, quantize="int8-dynamic", output=tmp_path / "m.onnx", **QUICK))
    assert report.fusions["Attention"] == 2 and report.fusions["SkipLayerNormalization"] == 4
    rows = {row.variant: row for row in report.rows}
    assert rows["onnx"].max_abs_diff < 1e-4 and rows["onnx int8 dynamic"].max_abs_diff < 0.05


def test_base_model_exports_hidden_states(tmp_path: Path) -> None:
    model_dir = tiny.save_tiny_bert(tmp_path / "mlm", tiny.write_vocab(tmp_path / "v"), kind="mlm", layers=1)
    report = export_model(ExportConfig(model_dir, format="torchscript", **QUICK))
    assert report.output == model_dir / "model.pt" and report.copied == []  # beside the checkpoint
    inputs = example_inputs(load_for_export(model_dir), batch_size=2, seq_len=7)
    with torch.no_grad():
        hidden = load_torchscript(report.output)(*inputs)
    assert hidden.shape == (2, 7, 64)  # (B, T, H): last_hidden_state of the encoder


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--format", "tflite"], "--format 'tflite' is not supported; expected one of onnx, torchscript"),
        (["--quantize", "int4"], "--quantize 'int4' is not supported"),
        (["--quantize", "int8-static", "-f", "torchscript"], "expected one of int8 or no --quantize"),
        (["--task", "tnews"], "--task and --data go together"),
        (["--max-drop", "-1"], "--max-drop must be >= 0 points"),
        (["--output", "model.onnx", "--format", "torchscript"], "should end in .pt for --format torchscript"),
        (["--runs", "0"], "--runs must be at least 1"),
    ],
)
def test_bad_options_are_one_line_errors(cls_dir: Path, options: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["export", str(cls_dir), *options])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_missing_model_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory"):
        ExportConfig(tmp_path / "nope")
