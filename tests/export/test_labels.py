"""A classifier saved by ``tinyzh eval --save-models`` answers in CLUE labels, in PyTorch and in ONNX."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests import tiny
from tests.tasks import clue_files
from tinyzh import plugins
from tinyzh.cli import app
from tinyzh.export import ExportConfig, export_model

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))
TNEWS = plugins.get_task("tnews")
TEXTS = ["这家店的菜很好吃", "国足比赛今天开始", "手机价格下降了"]


@pytest.fixture(scope="module")
def saved_tnews(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labels")
    base = tiny.save_tiny_bert(root / "base", tiny.write_vocab(root / "vocab"), kind="base", layers=2, hidden=32)
    clue = clue_files.write_clue(root / "clue", ["tnews"])
    args = ["eval", "-m", f"tiny={base}", "--tasks", "tnews", "--data-dir", str(clue), "-o", str(root / "out"),
            "--save-models", "--threads", "1", "--epochs", "1", "--batch-size", "4", "--max-seq-len", "32"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return root / "out" / "tiny" / "models" / "tnews"


def test_saved_config_carries_the_task_labels(saved_tnews: Path) -> None:
    config = json.loads((saved_tnews / "config.json").read_text(encoding="utf-8"))
    assert list(config["id2label"].values()) == list(TNEWS.labels)
    assert config["label2id"] == {label: i for i, label in enumerate(TNEWS.labels)}


def test_pipeline_returns_clue_labels(saved_tnews: Path) -> None:
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(saved_tnews), device="cpu")
    answers = classify(TEXTS)
    assert len(answers) == 3 and all(a["label"] in TNEWS.labels for a in answers)


@pytest.mark.skipif(not HAS_ONNX, reason="onnx, onnxscript and onnxruntime are needed: pip install 'tinyzh[export]'")
def test_onnx_file_served_as_in_the_docs_gives_the_same_labels(saved_tnews: Path) -> None:
    """The serving snippet of docs/export.md, verbatim apart from the paths."""
    from transformers import pipeline

    export_model(ExportConfig(saved_tnews, quantize=None, runs=1, warmup=0, seq_len=16))
    # --- docs/export.md "Serving the file" ---
    import onnxruntime as ort
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(saved_tnews))
    id2label = AutoConfig.from_pretrained(str(saved_tnews)).id2label
    session = ort.InferenceSession(str(saved_tnews / "model.onnx"), providers=["CPUExecutionProvider"])
    enc = tokenizer(TEXTS, padding=True, truncation=True, max_length=128, return_tensors="np")
    feed = {i.name: enc[i.name].astype(np.int64) for i in session.get_inputs()}
    (logits,) = session.run(None, feed)
    labels = [id2label[int(i)] for i in logits.argmax(-1)]
    # ---
    expected = [a["label"] for a in pipeline("text-classification", model=str(saved_tnews), device="cpu")(TEXTS)]
    assert labels == expected and all(label in TNEWS.labels for label in labels)


@pytest.mark.skipif(not HAS_ONNX, reason="onnx, onnxscript and onnxruntime are needed: pip install 'tinyzh[export]'")
def test_data_alone_takes_the_task_eval_saved(saved_tnews: Path, tmp_path: Path) -> None:
    dev = clue_files.write_clue(tmp_path / "clue", ["tnews"]) / clue_files.TASK_DIRS["tnews"] / "dev.json"
    config = ExportConfig(saved_tnews, data=dev, output=tmp_path / "m.onnx", runs=1, warmup=0, seq_len=16,
                          dev_latency_rows=2)
    assert config.task == "tnews"
    report = export_model(config)
    assert report.rows[0].dev_score is not None and report.rows[-1].dev_delta is not None
