"""Tiny checkpoints of the three tokenizer kinds prune-vocab supports, and the comparison they share.

- ``wordpiece-txt``: BertForMaskedLM whose tokenizer is only ``vocab.txt`` (the offline BERT layout);
- ``wordpiece-json``: the same with a fast BERT ``tokenizer.json``;
- ``unigram-json``: XLMRobertaForMaskedLM with a SentencePiece Unigram ``tokenizer.json`` (e5's layout).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from tests import tiny

TEXTS = [
    "我们今天去北京天安门看升旗。",
    "这个手机的屏幕很好，电池也不错！",
    "hello world, iph ok 12 元",
    "价格 100 元，质量 ok？",
    "他说明天再来买东西",
]
# Characters of tiny.COMMON_CHARS that TEXTS do not use: "unseen" Chinese text.
UNSEEN = "一有人在大中小年开"
KINDS = ("wordpiece-txt", "wordpiece-json", "unigram-json")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("prune-models")
    json_dir = tiny.save_tiny_bert(root / "wordpiece-json", vocab_dir, kind="mlm", layers=2, hidden=32)
    txt_dir = root / "wordpiece-txt"
    shutil.copytree(json_dir, txt_dir)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (txt_dir / name).unlink()
    shutil.copy(vocab_dir / "vocab.txt", txt_dir / "vocab.txt")
    spm = tiny.write_spm_tokenizer(root / "spm")
    unigram = tiny.save_tiny_model(root / "unigram-json", spm, model_type="xlm-roberta", kind="mlm", layers=2,
                                   hidden=32)
    return {"wordpiece-txt": txt_dir, "wordpiece-json": json_dir, "unigram-json": unigram}


def kept_ids(output: Path) -> list[int]:
    import json

    return json.loads((output / "prune_vocab.json").read_text(encoding="utf-8"))["kept_old_ids"]


def assert_same_on(source: Path, output: Path, texts: list[str]) -> None:
    """Tokens (ids remapped), every hidden state and the MLM logits of the kept rows are the original's."""
    from transformers import AutoModelForMaskedLM

    from tinyzh.prune.runner import load_tokenizer

    keep = kept_ids(output)
    new_id = {old: new for new, old in enumerate(keep)}
    tok_a, tok_b = load_tokenizer(source), load_tokenizer(output)
    batch_a = tok_a(texts, padding=True, return_tensors="pt")
    batch_b = tok_b(texts, padding=True, return_tensors="pt")
    mapped = batch_a["input_ids"].clone().apply_(lambda i: new_id.get(i, -1))
    assert torch.equal(mapped, batch_b["input_ids"])
    assert torch.equal(batch_a["attention_mask"], batch_b["attention_mask"])
    model_a = AutoModelForMaskedLM.from_pretrained(str(source)).eval()
    model_b = AutoModelForMaskedLM.from_pretrained(str(output)).eval()
    with torch.no_grad():
        out_a = model_a(**batch_a, output_hidden_states=True)
        out_b = model_b(**batch_b, output_hidden_states=True)
    for h_a, h_b in zip(out_a.hidden_states, out_b.hidden_states, strict=True):
        assert torch.allclose(h_a, h_b, atol=1e-5)
    assert torch.allclose(out_a.logits[..., keep], out_b.logits, atol=1e-5)
