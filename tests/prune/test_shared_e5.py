"""The shared multilingual-e5-small-zh (a real Unigram SentencePiece encoder) pruned for 200 TNEWS lines."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.prune.conftest import kept_ids
from tinyzh.prune import prune_model, read_texts
from tinyzh.prune.runner import load_tokenizer


def test_e5_pruned_for_tnews_lines(shared_data: Path, tmp_path: Path) -> None:
    from transformers import AutoModel

    source = shared_data / "models" / "multilingual-e5-small-zh"
    texts = read_texts([], "tnews", [shared_data / "clue" / "tnews" / "dev.json"])[:200]
    report = prune_model(source, texts, tmp_path / "out")
    assert report.tokenizer == "unigram" and report.tokens_after < report.tokens_before / 2
    assert report.mb_after < report.mb_before
    new_id = {old: new for new, old in enumerate(kept_ids(tmp_path / "out"))}
    tok_a, tok_b = load_tokenizer(source), load_tokenizer(tmp_path / "out")
    batch_a = tok_a(texts[:24], padding=True, return_tensors="pt")
    batch_b = tok_b(texts[:24], padding=True, return_tensors="pt")
    assert torch.equal(batch_a["input_ids"].clone().apply_(new_id.__getitem__), batch_b["input_ids"])
    with torch.no_grad():
        a = AutoModel.from_pretrained(str(source)).eval()(**batch_a).last_hidden_state
        b = AutoModel.from_pretrained(str(tmp_path / "out")).eval()(**batch_b).last_hidden_state
    assert (a - b).abs().max().item() < 1e-4
    # Lines the pruning never saw still tokenize without <unk> (when the full vocabulary had none).
    unseen = [t for t in read_texts([], "tnews", [shared_data / "clue" / "tnews" / "test.json"])[:300]
              if tok_a.unk_token_id not in tok_a(t)["input_ids"]]
    assert len(unseen) > 250
    assert not [t for t in unseen if tok_b.unk_token_id in tok_b(t)["input_ids"]]
