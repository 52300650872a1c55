"""benchmarks/quality_probe.py on a tiny BERT: one entry per layer, and the [CLS] cosine tells
identical sentences (1.000)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from tests import tiny

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import quality_probe  # noqa: E402


def _dev(path: Path, sentences: list[str]) -> Path:
    rows = [{"label": "100", "label_desc": "news_story", "sentence": s, "keywords": ""} for s in sentences]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_probe_by_layer_and_cls_cosine(tmp_path: Path, vocab_dir: Path) -> None:
    model = tiny.save_tiny_bert(tmp_path / "m", vocab_dir, kind="base", layers=2, hidden=32)
    same = quality_probe.dev_texts(_dev(tmp_path / "same.json", ["中国人民"] * 4), "tnews", 64)
    mixed = quality_probe.dev_texts(_dev(tmp_path / "mixed.json", ["中国人民", "我们", "天气很好", "人民大学"]),
                                    "tnews", 3)
    assert len(mixed) == 3 and mixed[0] == ("中国人民", None)
    result = quality_probe.probe(model, same, 16)
    assert len(result["varying"]) == len(result["variance"]) == 3  # embeddings + 2 layers
    assert result["cls_cosine"] == pytest.approx(1.0, abs=1e-3)
    assert all(0.0 < v <= 1.5 for v in result["varying"])  # tokens of one sentence still differ
    assert len(quality_probe.probe(model, mixed, 16)["varying"]) == 3


def test_mean_pairwise_cosine() -> None:
    assert quality_probe.mean_pairwise_cosine(torch.tensor([[1.0, 0.0], [0.0, 2.0]])) == pytest.approx(0.0)
    three = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # pairs: 1, 0, 0 (each twice) -> 1/3
    assert quality_probe.mean_pairwise_cosine(three) == pytest.approx(1 / 3)


def test_variance_is_the_per_feature_variance_over_real_tokens(tmp_path: Path, vocab_dir: Path) -> None:
    from transformers import BertModel

    from tinyzh.hf import load_hf_tokenizer

    model_dir = tiny.save_tiny_bert(tmp_path / "m", vocab_dir, kind="base", layers=1, hidden=32)
    texts = [("中国人民", None), ("我们", None)]  # unequal lengths: padding must not count
    result = quality_probe.probe(model_dir, texts, 16)
    enc = load_hf_tokenizer(str(model_dir))([a for a, _ in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        states = BertModel.from_pretrained(str(model_dir)).eval()(**enc, output_hidden_states=True).hidden_states
    real = torch.cat([states[1][0, : int(enc["attention_mask"][0].sum())], states[1][1, : int(enc["attention_mask"][1].sum())]])
    assert result["variance"][1] == pytest.approx(real.var(0).mean().item(), abs=1e-4)
