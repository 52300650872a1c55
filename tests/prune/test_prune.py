"""prune_model on tiny checkpoints: same tokens and outputs on the texts, specials, unseen text, the record."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from tests.prune.conftest import KINDS, TEXTS, UNSEEN, assert_same_on, kept_ids
from tinyzh.errors import ConfigError
from tinyzh.prune import prune_model
from tinyzh.prune.runner import load_tokenizer


@pytest.mark.parametrize("keep_basic", [True, False], ids=["keep-basic", "texts-only"])
@pytest.mark.parametrize("kind", KINDS)
def test_tokens_and_outputs_equal_on_the_texts(tiny_models: dict[str, Path], tmp_path: Path, kind: str,
                                               keep_basic: bool) -> None:
    report = prune_model(tiny_models[kind], TEXTS, tmp_path / "out", keep_basic=keep_basic)
    assert report.tokens_after < report.tokens_before
    if not keep_basic:  # texts-only drops most of the vocabulary, longer pieces than the texts use too
        assert report.tokens_after < report.tokens_before / 4
    assert_same_on(tiny_models[kind], tmp_path / "out", TEXTS)
    config = json.loads((tmp_path / "out" / "config.json").read_text(encoding="utf-8"))
    assert config["vocab_size"] == report.tokens_after == len(kept_ids(tmp_path / "out"))


@pytest.mark.parametrize("kind", KINDS)
def test_specials_kept_with_consistent_ids(tiny_models: dict[str, Path], tmp_path: Path, kind: str) -> None:
    from transformers import AutoConfig

    prune_model(tiny_models[kind], TEXTS[:1], tmp_path / "out", keep_basic=False)
    before, after = load_tokenizer(tiny_models[kind]), load_tokenizer(tmp_path / "out")
    assert before.all_special_tokens and sorted(after.all_special_tokens) == sorted(before.all_special_tokens)
    for token in before.all_special_tokens:
        assert after.convert_ids_to_tokens(after.convert_tokens_to_ids(token)) == token
    config_before, config_after = AutoConfig.from_pretrained(str(tiny_models[kind])), AutoConfig.from_pretrained(
        str(tmp_path / "out"))
    assert after.convert_ids_to_tokens(config_after.pad_token_id) == before.convert_ids_to_tokens(
        config_before.pad_token_id) == after.pad_token
    assert after.pad_token_id == config_after.pad_token_id
    for key in ("bos_token_id", "eos_token_id"):  # xlm-roberta's config names <s> and </s>
        if getattr(config_before, key, None) is not None:
            old = before.convert_ids_to_tokens(getattr(config_before, key))
            assert after.convert_ids_to_tokens(getattr(config_after, key)) == old
    # The mask token still predicts: the MLM head has a row for it.
    assert after.mask_token_id < config_after.vocab_size


@pytest.mark.parametrize("kind", KINDS)
def test_unseen_chinese_tokenizes_without_unk_when_keeping_basic(tiny_models: dict[str, Path], tmp_path: Path,
                                                                 kind: str) -> None:
    original = load_tokenizer(tiny_models[kind])
    assert original.unk_token_id not in original(UNSEEN)["input_ids"]
    assert not set(UNSEEN) & set("".join(TEXTS))
    prune_model(tiny_models[kind], TEXTS, tmp_path / "basic")
    prune_model(tiny_models[kind], TEXTS, tmp_path / "texts", keep_basic=False)
    basic, texts_only = load_tokenizer(tmp_path / "basic"), load_tokenizer(tmp_path / "texts")
    assert basic.unk_token_id not in basic(UNSEEN + " ab")["input_ids"]
    assert texts_only.unk_token_id in texts_only(UNSEEN)["input_ids"]
    assert_same_on(tiny_models[kind], tmp_path / "basic", [UNSEEN, "abc 9"])  # basic tokens: same too


@pytest.mark.parametrize("kind", ["wordpiece-json", "unigram-json"])
def test_tied_decoder_stays_tied(tiny_models: dict[str, Path], tmp_path: Path, kind: str) -> None:
    from transformers import AutoModelForMaskedLM

    report = prune_model(tiny_models[kind], TEXTS, tmp_path / "out", keep_basic=False)
    model = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "out"))
    decoder = model.get_output_embeddings()
    assert decoder.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert decoder.weight.shape[0] == decoder.bias.shape[0] == report.tokens_after
    assert any(name.endswith("bias") for name in report.sliced)


def test_report_counts_and_record(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    source = tiny_models["wordpiece-json"]
    report = prune_model(source, TEXTS, tmp_path / "out", keep_basic=False, text_files=["a.txt"])
    hidden = 32
    removed = report.tokens_before - report.tokens_after
    assert report.embedding_params_before - report.embedding_params_after == removed * hidden
    # The decoder weight is tied (counted once); its bias loses the same rows.
    assert report.params_before - report.params_after == removed * (hidden + 1)
    assert report.bytes_before - report.bytes_after == 4 * removed * (hidden + 1)
    assert report.special + report.from_texts + report.basic == report.tokens_after
    record = json.loads((tmp_path / "out" / "prune_vocab.json").read_text(encoding="utf-8"))
    keep = record["kept_old_ids"]
    assert keep == sorted(set(keep)) and record["text_files"] == ["a.txt"] and record["source"] == str(source)
    assert record["kept_old_ids_sha256"] == hashlib.sha256(
        json.dumps(keep, separators=(",", ":")).encode()).hexdigest()
    old_vocab = load_tokenizer(source).convert_ids_to_tokens(keep)
    assert load_tokenizer(tmp_path / "out").convert_ids_to_tokens(list(range(len(keep)))) == old_vocab


def test_unigram_keeps_its_lowest_score(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    # Unigram's unknown-node score is min(score) - 10: it must not rise (see tinyzh.prune.vocab).
    source = tiny_models["unigram-json"]
    prune_model(source, TEXTS[:1], tmp_path / "out", keep_basic=False)
    scores = [s for _, s in json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]]
    pruned = json.loads((tmp_path / "out" / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    assert min(s for _, s in pruned["vocab"]) == min(scores)
    assert pruned["vocab"][pruned["unk_id"]][0] == "<unk>"


def test_longest_match_keeps_its_choice(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    # "iphone" is one WordPiece; "iph" is i ##p ##h. Pruning for "iph" drops "iphone", and pruning
    # for "iphone" must not fall back to the pieces.
    source = tiny_models["wordpiece-json"]
    prune_model(source, ["iph"], tmp_path / "iph", keep_basic=False)
    prune_model(source, ["iphone"], tmp_path / "iphone", keep_basic=False)
    assert "iphone" not in load_tokenizer(tmp_path / "iph").get_vocab()
    assert load_tokenizer(tmp_path / "iphone").tokenize("iphone") == ["iphone"]
    assert load_tokenizer(tmp_path / "iph").tokenize("iph") == ["i", "##p", "##h"]


def test_vocab_txt_beside_tokenizer_json_is_rewritten_too(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    source = tmp_path / "both"
    shutil.copytree(tiny_models["wordpiece-json"], source)
    shutil.copy(tiny_models["wordpiece-txt"] / "vocab.txt", source / "vocab.txt")
    prune_model(source, TEXTS, tmp_path / "out", keep_basic=False)
    lines = (tmp_path / "out" / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert lines == load_tokenizer(tmp_path / "out").convert_ids_to_tokens(list(range(len(lines))))
    assert len(lines) == len(kept_ids(tmp_path / "out"))


def _bpe_model(tmp_path: Path, *, byte_level: bool, dropout: float | None = None) -> Path:
    """A tiny BPE tokenizer (byte-level like RoBERTa's, or over characters with an unk) and encoder."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    from tests import tiny

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.BPE(unk_token=None if byte_level else "<unk>", dropout=dropout))
    alphabet = pre_tokenizers.ByteLevel.alphabet() if byte_level else []
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False) if byte_level else pre_tokenizers.Whitespace()
    if byte_level:
        tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(tiny.spm_training_lines(), trainer=trainers.BpeTrainer(
        vocab_size=900, special_tokens=specials, initial_alphabet=alphabet))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>",
                            sep_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>"
                            ).save_pretrained(str(tmp_path / "bpe"))
    return tiny.save_tiny_model(tmp_path / "model", tmp_path / "bpe", model_type="roberta", kind="mlm", layers=1,
                                hidden=16)


@pytest.mark.parametrize("keep_basic", [True, False], ids=["keep-basic", "texts-only"])
@pytest.mark.parametrize("byte_level", [True, False], ids=["byte-level", "characters"])
def test_bpe_tokens_and_outputs_equal_on_the_texts(tmp_path: Path, byte_level: bool, keep_basic: bool) -> None:
    source = _bpe_model(tmp_path, byte_level=byte_level)
    report = prune_model(source, TEXTS, tmp_path / "out", keep_basic=keep_basic)
    assert report.tokenizer == "bpe" and report.tokens_after < report.tokens_before
    assert_same_on(source, tmp_path / "out", TEXTS)
    pruned = json.loads((tmp_path / "out" / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    kept = set(pruned["vocab"])
    assert pruned["merges"] and all(a in kept and b in kept and a + b in kept for a, b in pruned["merges"])
    if byte_level:  # the byte alphabet stays, so nothing is ever unknown
        assert len(load_tokenizer(tmp_path / "out").tokenize(UNSEEN + " xyz")) > 0
        assert kept >= set(__import__("tokenizers").pre_tokenizers.ByteLevel.alphabet())
    elif keep_basic:
        out = load_tokenizer(tmp_path / "out")
        assert out.unk_token_id not in out(UNSEEN)["input_ids"]


def test_bpe_with_dropout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="BPE dropout 0.1 makes tokenization random"):
        prune_model(_bpe_model(tmp_path, byte_level=False, dropout=0.1), TEXTS, tmp_path / "out")


def test_bad_model_directories(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        prune_model(tmp_path / "missing", TEXTS, tmp_path / "out")
    with pytest.raises(ConfigError, match="model directory itself"):
        prune_model(tiny_models["wordpiece-json"], TEXTS, tiny_models["wordpiece-json"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no tokenizer.json or vocab.txt"):
        prune_model(tmp_path / "empty", TEXTS, tmp_path / "out")
    (tmp_path / "empty" / "spiece.model").write_bytes(b"")
    with pytest.raises(ConfigError, match="only a slow SentencePiece tokenizer"):
        prune_model(tmp_path / "empty", TEXTS, tmp_path / "out")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(Exception, match=r"broken/tokenizer.json:1: malformed JSON"):
        prune_model(broken, TEXTS, tmp_path / "out")


def test_base_model_without_head(tmp_path: Path, vocab_dir: Path) -> None:
    from transformers import AutoModel

    from tests import tiny

    source = tiny.save_tiny_bert(tmp_path / "base", vocab_dir, kind="base", layers=1, hidden=16)
    report = prune_model(source, TEXTS, tmp_path / "out", keep_basic=False)
    assert report.sliced == ["embeddings.word_embeddings.weight"]
    batch_a = load_tokenizer(source)(TEXTS, padding=True, return_tensors="pt")
    batch_b = load_tokenizer(tmp_path / "out")(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        a = AutoModel.from_pretrained(str(source)).eval()(**batch_a).last_hidden_state
        b = AutoModel.from_pretrained(str(tmp_path / "out")).eval()(**batch_b).last_hidden_state
    assert torch.allclose(a, b, atol=1e-5)


def test_checkpoint_missing_weights_is_refused(tmp_path: Path, vocab_dir: Path) -> None:
    from tests import tiny

    source = tiny.save_tiny_bert(tmp_path / "base", vocab_dir, kind="base", layers=1, hidden=16)
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    (source / "config.json").write_text(json.dumps({**config, "architectures": ["BertForMaskedLM"]}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lacks \d+ weight\(s\) of BertForMaskedLM \(cls\.predictions"):
        prune_model(source, TEXTS, tmp_path / "out")


@pytest.mark.parametrize(("model_type", "tokenizer"), [("ernie", "wordpiece-json"), ("bert", "unigram-json"),
                                                       ("roberta", "unigram-json")])
def test_other_families(tiny_models: dict[str, Path], tmp_path: Path, model_type: str, tokenizer: str) -> None:
    from tests import tiny

    source = tiny.save_tiny_model(tmp_path / model_type, tiny_models[tokenizer], model_type=model_type, kind="mlm",
                                  layers=1, hidden=16)
    report = prune_model(source, TEXTS, tmp_path / "out", keep_basic=False)
    assert report.tokens_after < report.tokens_before / 4
    assert_same_on(source, tmp_path / "out", TEXTS)



def test_unigram_unknown_score_catch(tmp_path: Path) -> None:
    # "pqrs" is pq + r + s (-60); p + qrs scores -65. Dropping the unused "p" leaves an unknown node
    # there, scored min(score) - 10: -60 while "zzz" (-50) stays, but -30 if it went too, and then
    # unk + qrs (-50) would win. prune-vocab keeps the lowest-scoring piece, so nothing changes.
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    from tests import tiny

    specials = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces = [("zzz", -50.0), ("p", -45.0), ("pq", -20.0), ("r", -20.0), ("s", -20.0), ("qrs", -20.0)]
    naive = Tokenizer(models.Unigram(specials + [p for p in pieces if p[0] not in ("p", "zzz")], unk_id=3))
    assert naive.encode("pqrs").ids == [3, 7]  # <unk> + qrs: what a pruning that lets the minimum rise would give
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.Unigram(specials + pieces, unk_id=3)),
                                  bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>")
    tok.save_pretrained(str(tmp_path / "tok"))
    source = tiny.save_tiny_model(tmp_path / "model", tmp_path / "tok", kind="base", layers=1, hidden=16)
    assert load_tokenizer(source).tokenize("pqrs") == ["pq", "r", "s"]
    prune_model(source, ["pqrs", "qrs"], tmp_path / "out", keep_basic=False)
    pruned = load_tokenizer(tmp_path / "out")
    assert "p" not in pruned.get_vocab() and "zzz" in pruned.get_vocab()
    assert pruned.tokenize("pqrs") == ["pq", "r", "s"]


def test_output_directory_rules(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ConfigError, match="not empty and not a prune-vocab output"):
        prune_model(tiny_models["wordpiece-txt"], TEXTS, out)
    (out / "notes.txt").unlink()
    # Rewriting an earlier output of a tokenizer.json model with a vocab.txt model: no stale tokenizer.json.
    prune_model(tiny_models["wordpiece-json"], TEXTS, out, keep_basic=False)
    prune_model(tiny_models["wordpiece-txt"], TEXTS[:1], out, keep_basic=False)
    assert not (out / "tokenizer.json").exists()
    assert_same_on(tiny_models["wordpiece-txt"], out, TEXTS[:1])
