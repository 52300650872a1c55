"""pregen with a SentencePiece tokenizer: whole-word masks from jieba, worker independence, coverage errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests import tiny
from tests.pregen import helpers
from tinyzh.errors import ConfigError
from tinyzh.pregen import PregenConfig, run_pregen
from tinyzh.pregen.masking import MaskSpec, random_range, word_ids_from_flags
from tinyzh.pregen.shards import read_shard
from tinyzh.tokenizers.bert_chinese import BertChineseTokenizer


@pytest.fixture(scope="module")
def spm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.write_spm_tokenizer(tmp_path_factory.mktemp("spm"), vocab_size=1500)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = tiny.spm_training_lines()[:400]
    docs = [lines[i : i + 5] for i in range(0, len(lines), 5)]
    return helpers.write_corpus(tmp_path_factory.mktemp("corpus") / "c.txt", docs)


def run(corpus: Path, output: Path, tokenizer: Path, **kw) -> dict:
    options = {"max_seq_len": 64, "chunk_documents": 16, "workers": 1, "epochs": 1, **kw}
    return run_pregen(PregenConfig(corpus=[corpus], output=output, tokenizer=str(tokenizer), **options))


def test_instances_mask_whole_jieba_words_and_never_blanks(corpus: Path, spm_dir: Path, tmp_path: Path) -> None:
    manifest = run(corpus, tmp_path / "out", spm_dir)
    tok = BertChineseTokenizer(str(spm_dir))
    blank_ids = {i for i, t in enumerate(tok.convert_ids_to_tokens(range(tok.vocab_size))) if t == "▁"}
    special = {tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, tok.mask_token_id, tok.unk_token_id}
    assert manifest["tokenizer"]["mask_token_id"] == tok.mask_token_id == tok.vocab_size - 1
    assert manifest["bad_input"]["instances_without_words"] == 0
    rows = without_mask = masked_total = 0
    for shard in manifest["shards"]:
        _, arrays = read_shard(tmp_path / "out" / shard["file"])
        ends = np.cumsum(arrays["lengths"])
        m_ends = np.cumsum(arrays["num_masked"])
        for r in range(len(arrays["lengths"])):
            a, b = ends[r] - arrays["lengths"][r], ends[r]
            flags = np.asarray(arrays["word_flags"][a:b])
            positions = np.asarray(arrays["masked_positions"][m_ends[r] - arrays["num_masked"][r] : m_ends[r]])
            labels = np.asarray(arrays["masked_labels"][m_ends[r] - arrays["num_masked"][r] : m_ends[r]])
            words = word_ids_from_flags(flags)
            rows += 1
            without_mask += len(positions) == 0
            masked_total += len(positions)
            assert not set(labels.tolist()) & (blank_ids | special)  # ▁ and specials are never predicted
            assert (flags[positions] != 2).all()
            chosen = set(words[positions].tolist())  # whole words: every token of a chosen word is masked
            assert sorted(positions.tolist()) == [i for i in range(len(words)) if words[i] in chosen]
    assert rows > 50 and without_mask == 0 and masked_total / rows > 3


def test_any_worker_count_writes_the_same_bytes(corpus: Path, spm_dir: Path, tmp_path: Path) -> None:
    run(corpus, tmp_path / "one", spm_dir, workers=1)
    run(corpus, tmp_path / "two", spm_dir, workers=2)
    assert helpers.shard_bytes(tmp_path / "one") == helpers.shard_bytes(tmp_path / "two")


def test_a_tokenizer_that_does_not_cover_the_corpus_is_an_error(corpus: Path, tmp_path: Path) -> None:
    latin = ["hello world ok bert app vip iphone", "the quick brown fox jumps over 12 lazy dogs"] * 30
    tokenizer = tmp_path / "latin"
    tiny.build_spm_tokenizer(60, lines=latin).save_pretrained(str(tokenizer))
    with pytest.raises(ConfigError, match=r"% of the corpus's tokens .* are the unknown token"):
        run(corpus, tmp_path / "out", tokenizer)


def test_no_maskable_word_is_an_error() -> None:
    from tinyzh.pregen.runner import Totals, check_coverage

    config = PregenConfig(corpus=[Path("c.txt")], output=Path("out"))
    stats = {"tokens": 100, "unknown_tokens": 0, "instances_without_words": 7}
    with pytest.raises(ConfigError, match="none of the 7 instances has a maskable word"):
        check_coverage(config, {"unk_token_id": 3}, stats, Totals(instances=7), final=True)
    check_coverage(config, {"unk_token_id": 3}, stats, Totals(instances=8), final=True)  # one has words: fine


def test_random_replacements_avoid_every_special_token() -> None:
    assert random_range([0, 100, 101, 102, 103], 21128) == (104, 21128)  # bert-base-chinese
    assert random_range([0, 1, 2, 3, 26861], 26862) == (4, 26861)  # multilingual-e5: <mask> last
    spec = MaskSpec.from_tokenizer_info({"mask_token_id": 26861, "cls_token_id": 0, "sep_token_id": 2,
                                         "pad_token_id": 1, "unk_token_id": 3, "vocab_size": 26862}, 0.15, 20)
    from tinyzh.pregen.masking import mask_rows

    ids = np.arange(10, 1010, dtype=np.int64)
    flags = np.ones(1000, np.uint8)
    out, *_ = mask_rows(ids, flags, np.array([1000]), spec, np.random.default_rng(0))
    replaced = out[(out != ids) & (out != 26861)]
    assert len(replaced) and replaced.min() >= 4 and replaced.max() < 26861


def test_shared_e5_tokenizer_masks_like_wordpiece(shared_data: Path, tmp_path: Path) -> None:
    model = shared_data / "models" / "multilingual-e5-small-zh"
    if not model.is_dir():
        pytest.skip(f"{model} not found")
    lines = (shared_data / "corpus" / "chid_passages.txt").read_text(encoding="utf-8").splitlines()[:3000]
    corpus = tmp_path / "chid.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    vocab = shared_data / "vocab" / "bert-base-chinese"
    results = {}
    for name, tokenizer in (("spm", model), ("wordpiece", vocab)):
        manifest = run(corpus, tmp_path / name, tokenizer, max_seq_len=128, chunk_documents=200, segmenter="rjieba")
        masked = sum(int(read_shard(tmp_path / name / s["file"])[1]["num_masked"].sum()) for s in manifest["shards"])
        results[name] = masked / manifest["num_tokens"]
        assert manifest["bad_input"]["instances_without_words"] == 0
    # Before: 60 % of the SentencePiece instances had no mask, 2.8 masks an instance against 11.7.
    assert results["spm"] > 0.9 * results["wordpiece"] > 0.1, results
