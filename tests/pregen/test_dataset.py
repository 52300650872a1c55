"""PregenDataset and collate_batch: shapes, instance layout, dynamic re-masking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.pregen import helpers
from tinyzh.errors import ConfigError, InputError
from tinyzh.pregen import PregenConfig, PregenDataset, collate_batch, run_pregen


def generate(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path, **kw) -> Path:
    root = tmp_path_factory.mktemp("pregen")
    corpus = helpers.write_corpus(root / "c.txt", helpers.documents(40, seed=2))
    cfg = PregenConfig(corpus=[corpus], output=root / "out", tokenizer=str(vocab_dir), max_seq_len=40, workers=1, **kw)
    run_pregen(cfg)
    return cfg.output


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> Path:
    return generate(tmp_path_factory, vocab_dir, epochs=2)


def original_ids(item: dict) -> torch.Tensor:
    ids = item["input_ids"].clone()
    ids[item["masked_lm_positions"]] = item["masked_lm_labels"]
    return ids


def test_items_follow_the_bert_layout(static_dir: Path) -> None:
    ds = PregenDataset(static_dir)
    manifest = ds.manifest
    cls, sep = manifest["tokenizer"]["cls_token_id"], manifest["tokenizer"]["sep_token_id"]
    assert len(ds) == manifest["num_instances"] > 0
    for i in range(len(ds)):
        item = ds[i]
        ids, types, words = item["input_ids"], item["token_type_ids"], item["word_ids"]
        assert ids.dtype == torch.long and ids.ndim == 1 and len(ids) <= 40
        assert types.shape == ids.shape == words.shape
        assert ids[0] == cls and ids[-1] == sep and int((original_ids(item) == sep).sum()) == 2
        specials = torch.nonzero(words < 0).flatten().tolist()
        first_sep = specials[1]
        assert specials == [0, first_sep, len(ids) - 1]
        assert types[: first_sep + 1].eq(0).all() and types[first_sep + 1 :].eq(1).all()
        assert item["next_sentence_label"].ndim == 0 and int(item["next_sentence_label"]) in (0, 1)
        assert torch.all(torch.diff(words[words >= 0]) >= 0)  # word ids never go back
        assert len(item["masked_lm_positions"]) == len(item["masked_lm_labels"]) >= 1


def test_collate_pads_and_builds_labels(static_dir: Path) -> None:
    ds = PregenDataset(static_dir)
    items = [ds[i] for i in range(5)]
    batch = collate_batch(items, pad_token_id=0)
    size = max(len(item["input_ids"]) for item in items)
    for key in ("input_ids", "token_type_ids", "attention_mask", "labels"):
        assert batch[key].shape == (5, size) and batch[key].dtype == torch.long
    assert batch["next_sentence_label"].shape == (5,)
    for row, item in enumerate(items):
        n = len(item["input_ids"])
        assert batch["attention_mask"][row].sum() == n and batch["input_ids"][row, n:].eq(0).all()
        expected = torch.full((size,), -100)
        expected[item["masked_lm_positions"]] = item["masked_lm_labels"]
        assert torch.equal(batch["labels"][row], expected)


def test_works_with_a_dataloader(static_dir: Path) -> None:
    loader = torch.utils.data.DataLoader(PregenDataset(static_dir), batch_size=8, collate_fn=collate_batch)
    batch = next(iter(loader))
    assert batch["input_ids"].shape[0] == 8


def test_dynamic_masking_remasks_whole_words(static_dir: Path) -> None:
    static = PregenDataset(static_dir)
    dynamic = PregenDataset(static_dir, masking="dynamic", seed=0)
    changed = 0
    for i in range(min(len(static), 30)):
        item_s, item_d = static[i], dynamic[i]
        assert torch.equal(original_ids(item_s), original_ids(item_d))  # same text under the masks
        words = item_d["word_ids"]
        chosen = torch.unique(words[item_d["masked_lm_positions"]])
        assert torch.equal(torch.nonzero(torch.isin(words, chosen)).flatten(), item_d["masked_lm_positions"])
        assert (chosen >= 0).all()
        dynamic.set_epoch(1)
        other_epoch = dynamic[i]
        dynamic.set_epoch(0)
        changed += not torch.equal(other_epoch["masked_lm_positions"], item_d["masked_lm_positions"])
        assert torch.equal(dynamic[i]["input_ids"], item_d["input_ids"])  # deterministic for (seed, epoch, i)
    assert changed >= 20
    reseeded = PregenDataset(static_dir, masking="dynamic", seed=1)
    assert any(not torch.equal(reseeded[i]["masked_lm_positions"], dynamic[i]["masked_lm_positions"]) for i in range(10))


def test_dynamic_output_stores_no_masks(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> None:
    out = generate(tmp_path_factory, vocab_dir, masking="dynamic")
    ds = PregenDataset(out)
    assert ds.masking == "dynamic"
    raw = ds.raw(0)
    assert len(raw["masked_lm_positions"]) == 0 and len(ds[0]["masked_lm_positions"]) > 0
    with pytest.raises(ConfigError, match="dynamic"):
        PregenDataset(out, masking="static")


def test_pair_task_none_has_one_segment(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> None:
    ds = PregenDataset(generate(tmp_path_factory, vocab_dir, pair_task="none"))
    item = ds[0]
    assert int(item["next_sentence_label"]) == -1 and item["token_type_ids"].eq(0).all()
    assert np.count_nonzero(item["word_ids"].numpy() < 0) == 2


def test_missing_manifest_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="manifest"):
        PregenDataset(tmp_path)


def test_damaged_output_is_an_input_error_not_a_traceback(tmp_path_factory: pytest.TempPathFactory, vocab_dir: Path) -> None:
    import json
    import shutil

    out = generate(tmp_path_factory, vocab_dir)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    shard = out / manifest["shards"][0]["file"]

    broken = out.parent / "missing-shard"
    shutil.copytree(out, broken)
    (broken / shard.name).unlink()
    with pytest.raises(InputError, match=f"shard {shard.name} listed in manifest.json is missing"):
        PregenDataset(broken)

    torn = out.parent / "torn-manifest"
    shutil.copytree(out, torn)
    (torn / "manifest.json").write_text((out / "manifest.json").read_text(encoding="utf-8")[:50], encoding="utf-8")
    with pytest.raises(InputError, match="manifest.json is damaged"):
        PregenDataset(torn)

    garbage = out.parent / "garbage-shard"
    shutil.copytree(out, garbage)
    (garbage / shard.name).write_bytes(b"not a shard at all")
    with pytest.raises(InputError, match="not a tinyzh pregen shard"):
        PregenDataset(garbage)[0]
