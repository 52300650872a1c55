"""The int8 variants and the accuracy gate: each variant matches PyTorch, a broken one is rejected."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests import tiny
from tinyzh import plugins
from tinyzh.cli import app
from tinyzh.errors import ConfigError
from tinyzh.export import ExportConfig, export_model
from tinyzh.export.gate import Candidate, choose
from tinyzh.export.model import example_inputs, load_for_export

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))
pytestmark = pytest.mark.skipif(
    not HAS_ONNX, reason="onnx, onnxscript and onnxruntime are needed: pip install 'tinyzh[export]'"
)
QUICK = {"runs": 1, "warmup": 0, "seq_len": 16, "dev_latency_rows": 3}
TNEWS = plugins.get_task("tnews")


def _texts(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    chars = tiny.COMMON_CHARS
    return ["".join(rng.choice(chars) for _ in range(rng.randint(4, 30))) for _ in range(count)]


def _tnews_classifier(directory: Path, vocab: Path) -> Path:
    labels = dict(enumerate(TNEWS.labels))
    return tiny.save_tiny_bert(directory, vocab, kind="cls", layers=2, num_labels=len(labels),
                               id2label=labels, label2id={v: k for k, v in labels.items()})


def _write_split(path: Path, model_dir: Path, texts: list[str]) -> Path:
    """A TNEWS file labelled with the fp32 model's own predictions (so PyTorch scores 100)."""
    from transformers import AutoModelForSequenceClassification, BertTokenizer

    tok = BertTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    with torch.no_grad():
        logits = model(**tok(texts, padding=True, return_tensors="pt")).logits
    labels = [model.config.id2label[i] for i in logits.argmax(-1).tolist()]
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.dumps({"sentence": t, "label": lab, "id": i}, ensure_ascii=False)
            for i, (t, lab) in enumerate(zip(texts, labels, strict=True))]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tnews_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny TNEWS classifier and a dev file (train.json beside it for calibration)."""
    root = tmp_path_factory.mktemp("gate")
    model_dir = _tnews_classifier(root / "model", tiny.write_vocab(root / "vocab"))
    _write_split(root / "tnews" / "train.json", model_dir, _texts(20, seed=1))
    return model_dir, _write_split(root / "tnews" / "dev.json", model_dir, _texts(40))


@pytest.fixture(scope="module")
def broken_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A classifier that per-tensor int8 ruins: one huge weight on a pooled feature that is always 0.

    fp32 ignores it (the feature is tanh(0)); int8's single scale for the whole matrix then rounds
    every other classifier weight to 0, so int8 predicts from the bias alone.
    """
    from transformers import AutoModelForSequenceClassification, BertTokenizer

    root = tmp_path_factory.mktemp("broken")
    model_dir = _tnews_classifier(root / "model", tiny.write_vocab(root / "vocab"))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    texts = _texts(40)
    with torch.no_grad():
        model.bert.pooler.dense.weight[0].zero_()
        model.bert.pooler.dense.bias[0] = 0.0
        enc = BertTokenizer.from_pretrained(str(model_dir))(texts, padding=True, return_tensors="pt")
        pooled = model.bert(**enc).pooler_output  # (N, H); column 0 is tanh(0) = 0
        spread = pooled - pooled.mean(dim=0)  # centre the features so fp32 predictions vary
        torch.manual_seed(0)
        model.classifier.weight.copy_(torch.randn(len(TNEWS.labels), pooled.shape[1]) / float(spread.std()))
        model.classifier.bias.copy_(-model.classifier.weight @ pooled.mean(dim=0))
        model.classifier.weight[:, 0] = 500.0 * float(model.classifier.weight.abs().max())
    model.save_pretrained(str(model_dir))
    dev = _write_split(root / "tnews" / "dev.json", model_dir, texts)
    assert len({json.loads(line)["label"] for line in dev.read_text(encoding="utf-8").splitlines()}) > 2
    return model_dir, dev


@pytest.mark.parametrize(("quantize", "atol"), [("int8-dynamic", 0.05), ("int8-dynamic-pc", 0.05),
                                                ("int8-static", 0.05)])
def test_each_int8_variant_matches_pytorch(tnews_model, tmp_path: Path, quantize: str, atol: float) -> None:
    import onnxruntime as ort

    model_dir, dev = tnews_model
    out = tmp_path / "m.int8.onnx"
    report = export_model(ExportConfig(model_dir, quantize=quantize, output=out, task="tnews", data=dev,
                                       max_drop=100, **QUICK))
    assert [r.variant for r in report.rows][:3] == ["pytorch", "onnx unfused", "onnx"]
    assert report.chosen.startswith("onnx int8") and out.stat().st_size < report.rows[2].size_bytes
    assert report.fusions.get("Attention") == 2  # both layers' attention fused
    import onnx

    ops = {node.op_type for node in onnx.load(str(out)).graph.node}
    if quantize == "int8-static":
        assert report.calibration.startswith(f"20 rows of {dev.parent / 'train.json'}")
        assert "QLinearMatMul" in ops
    else:  # the fused graph, quantised: int8 attention weights and int8 embedding tables
        assert {"QAttention", "QEmbedLayerNormalization", "MatMulInteger"} <= ops
    inputs = example_inputs(load_for_export(model_dir), batch_size=4, seq_len=21, seed=5)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    names = ("input_ids", "attention_mask", "token_type_ids")
    (logits,) = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})
    with torch.no_grad():
        expected = load_for_export(model_dir)(*inputs)
    torch.testing.assert_close(torch.from_numpy(logits), expected, atol=atol, rtol=0)
    chosen = next(r for r in report.rows if r.variant == report.chosen)
    assert chosen.dev_ms is not None and chosen.dev_tokenized_ms is not None and chosen.rows_per_s > 0
    assert report.rows[0].dev_score == 100.0  # the dev labels are PyTorch's own predictions


def test_gate_rejects_an_int8_variant_that_loses_accuracy(broken_model, tmp_path: Path) -> None:
    model_dir, dev = broken_model
    out = tmp_path / "m.onnx"
    report = export_model(ExportConfig(model_dir, quantize="int8-dynamic", output=out, task="tnews", data=dev,
                                       **QUICK))
    rows = {r.variant: r for r in report.rows}
    assert rows["onnx"].dev_delta == pytest.approx(0.0)
    assert rows["onnx int8 dynamic"].dev_delta < -1
    assert rows["onnx int8 dynamic"].note.startswith("rejected")
    assert report.chosen == "onnx" and rows["onnx"].note == "chosen: no int8 variant passes"
    side = json.loads(out.with_name("m.onnx.json").read_text(encoding="utf-8"))
    assert side["chosen"] == "onnx" and side["rows"][-1]["note"].startswith("rejected")


def test_cli_gate_table(broken_model, tmp_path: Path) -> None:
    model_dir, dev = broken_model
    args = ["export", str(model_dir), "--quantize", "int8-dynamic", "--task", "tnews", "--data", str(dev),
            "-o", str(tmp_path / "m.onnx"), "--runs", "1", "--seq-len", "16"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "dev tnews" in flat and "rejected" in flat and "no int8 variant passes" in flat
    assert "CPU:" in flat


def test_choose_prefers_the_fastest_passing_int8() -> None:
    candidates = [Candidate("onnx", 10.0, 0.0, False), Candidate("a", 3.0, -2.0, True),
                  Candidate("b", 5.0, -0.5, True), Candidate("c", 4.0, -0.9, True)]
    chosen, notes = choose(candidates, max_drop=1.0, want_int8=True)
    assert chosen == "c" and notes["a"].startswith("rejected") and notes["b"] == "passes, slower"
    assert choose(candidates, max_drop=1.0, want_int8=False)[0] == "onnx"
    assert choose(candidates, max_drop=3.0, want_int8=True)[0] == "a"


def test_seq_len_longer_than_the_model_is_an_error(tnews_model) -> None:
    model_dir, _ = tnews_model
    result = CliRunner().invoke(app, ["export", str(model_dir), "--seq-len", "100000"])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "--seq-len 100000 is longer than" in flat and "max_position_embeddings (128" in flat


def test_task_needs_a_classifier_of_its_labels(tmp_path: Path) -> None:
    model_dir = tiny.save_tiny_bert(tmp_path / "cls", tiny.write_vocab(tmp_path / "v"), kind="cls", num_labels=3)
    dev = tmp_path / "dev.json"
    dev.write_text(json.dumps({"sentence": "好", "label": "100"}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="id2label .* are not tnews's 15 labels"):
        export_model(ExportConfig(model_dir, task="tnews", data=dev, **QUICK))
    with pytest.raises(ConfigError, match="--task and --data go together"):
        ExportConfig(model_dir, task="tnews")


def test_prune_keeps_only_the_rows_the_task_needs_and_the_same_dev_score(tnews_model, tmp_path: Path) -> None:
    import onnx

    model_dir, dev = tnews_model
    full = export_model(ExportConfig(model_dir, quantize="int8-dynamic", task="tnews", data=dev,
                                     output=tmp_path / "full" / "m.onnx", **QUICK))
    pruned = export_model(ExportConfig(model_dir, quantize="int8-dynamic", task="tnews", data=dev, prune=True,
                                       output=tmp_path / "pruned" / "m.onnx", **QUICK))
    assert pruned.pruned["tokens_before"] == len(tiny.vocab_tokens()) > pruned.pruned["tokens_after"]
    assert [r.dev_score for r in pruned.rows] == [r.dev_score for r in full.rows]  # same predictions on dev
    graph = onnx.load(str(tmp_path / "pruned" / "m.onnx")).graph
    rows = {tuple(i.dims)[0] for i in graph.initializer if len(i.dims) == 2 and i.dims[1] == 64}
    assert pruned.pruned["tokens_after"] in rows and len(tiny.vocab_tokens()) not in rows
    from transformers import AutoTokenizer

    assert len(AutoTokenizer.from_pretrained(str(tmp_path / "pruned"))) == pruned.pruned["tokens_after"]


def test_prune_needs_task_and_data(tnews_model) -> None:
    with pytest.raises(ConfigError, match="--prune keeps the embedding rows"):
        ExportConfig(tnews_model[0], prune=True)
