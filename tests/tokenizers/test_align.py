"""Whole-word units for any fast tokenizer: SentencePiece, WordPiece with and without ##, byte-level BPE."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import tiny
from tinyzh.tokenizers.align import blank_token, word_boundaries
from tinyzh.tokenizers.bert_chinese import BertChineseTokenizer
from tinyzh.tokenizers.segment import get_segmenter

TEXTS = [
    "我们今天去北京天安门看升旗。",
    "这个手机的屏幕很好，电池也不错 iphone12 hello world！",
    "价格 100 元，质量 ok。",
    "  前面有空格  ",
    "",
]


@pytest.fixture(scope="module")
def spm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.write_spm_tokenizer(tmp_path_factory.mktemp("spm"), vocab_size=1500)


def demo_lines(n: int = 300) -> list[str]:
    return [line for line in tiny.spm_training_lines() if line.strip()][:n]


def units(text: str, offsets: list[tuple[int, int]], word_ids: list[int]) -> dict[int, set[int]]:
    """word id -> the characters its tokens cover."""
    out: dict[int, set[int]] = {}
    for (start, end), w in zip(offsets, word_ids, strict=True):
        if w >= 0:
            out.setdefault(w, set()).update(range(start, end))
    return out


def test_reference_rules() -> None:
    # 的事情 spans 的 / 事情: one unit; 北京 split in two tokens: one unit; blanks: no word.
    text = "的事情很好北京"
    offsets = [(0, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
    assert word_boundaries(text, offsets, ["的", "事情", "很好", "北京"]) == [0, 1, 1, 2, 2]
    text = "▁iphone12 ok"
    offsets = [(0, 1), (1, 3), (3, 7), (7, 9), (9, 10), (10, 12)]
    blank = [True, False, False, False, True, False]
    assert word_boundaries(text, offsets, ["▁", "iphone12", " ", "ok"], blank) == [-1, 0, 0, 0, -1, 1]
    # Byte-level BPE: two tokens for one character share its span, so they are one unit.
    assert word_boundaries("好人", [(0, 1), (0, 1), (1, 2)], ["好人"]) == [0, 0, 0]
    assert word_boundaries("好 人", [(0, 1), (2, 3)], ["好", " ", "人"]) == [0, 1]
    assert blank_token("▁") and blank_token("") and not blank_token("▁我")


def test_sentencepiece_takes_the_offset_path_and_equals_the_reference(spm_dir: Path) -> None:
    tok = BertChineseTokenizer(str(spm_dir))
    assert tok.kind == "offsets"
    lines = demo_lines() + TEXTS
    assert tok.encode_words(lines) == tok.encode_words_reference(lines)


def test_sentencepiece_units_are_jieba_words(spm_dir: Path) -> None:
    """Every CJK jieba word lies in one unit; a unit is a run of whole jieba words; ``▁`` is no word."""
    tok = BertChineseTokenizer(str(spm_dir))
    segmenter = get_segmenter("jieba")
    lines = demo_lines(200) + TEXTS
    batch = tok.hf(lines, add_special_tokens=False, return_offsets_mapping=True)
    words_seen = spanning = 0
    for text, enc, offsets in zip(lines, tok.encode_words(lines), batch["offset_mapping"], strict=True):
        tokens = tok.convert_ids_to_tokens(enc.input_ids)
        assert [w < 0 for w in enc.word_ids] == [blank_token(t) for t in tokens]
        real = [w for w in enc.word_ids if w >= 0]
        assert real == sorted(real) and (not real or set(real) == set(range(real[-1] + 1)))
        char_unit = {c: w for w, chars in units(text, offsets, enc.word_ids).items() for c in chars}
        start = 0
        for word in segmenter.cut(text):
            chars = range(start, start + len(word))
            start += len(word)
            if any("\u4e00" <= c <= "\u9fff" for c in word):
                words_seen += 1
                assert len({char_unit.get(c) for c in chars}) == 1, (text, word)
        spanning += sum(1 for s, e in offsets if e - s >= 2 and "\u4e00" <= text[s] <= "\u9fff")
    assert words_seen > 1000 and spanning > 50  # the tokenizer does make multi-character pieces


def test_wordpiece_without_prefix_and_byte_level_bpe(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from tokenizers.implementations import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    wp = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix=""))
    wp.normalizer = normalizers.BertNormalizer(lowercase=True)
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wp.train_from_iterator(demo_lines(), trainers.WordPieceTrainer(vocab_size=900, special_tokens=specials,
                                                                   continuing_subword_prefix=""))
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(demo_lines(), vocab_size=900, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    for name, backend, kw in (
        ("wp", wp, dict(cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]")),
        ("bpe", bpe._tokenizer, dict(cls_token="<s>", sep_token="</s>", pad_token="<pad>", unk_token="<unk>",
                                     mask_token="<mask>")),
    ):
        PreTrainedTokenizerFast(tokenizer_object=backend, **kw).save_pretrained(str(tmp_path / name))
        tok = BertChineseTokenizer(str(tmp_path / name))
        assert tok.kind == "offsets"
        lines = demo_lines(100) + TEXTS
        encoded = tok.encode_words(lines)
        assert encoded == tok.encode_words_reference(lines)
        # 北京 is one jieba word: whatever the pieces, its tokens share one word id.
        enc = tok.encode_words(["我们去北京"])[0]
        batch = tok.hf(["我们去北京"], add_special_tokens=False, return_offsets_mapping=True)
        beijing = {w for (s, e), w in zip(batch["offset_mapping"][0], enc.word_ids, strict=True) if s >= 3}
        assert len(beijing) == 1


def test_vocab_txt_with_u2028_has_the_fingerprint_of_its_tokenizer_json(tmp_path: Path) -> None:
    from transformers import BertTokenizer

    tokens = tiny.vocab_tokens() + ["\u2028", "##\u2028"]
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    full = tmp_path / "full"
    BertTokenizer.from_pretrained(str(plain)).save_pretrained(str(full))
    assert (full / "tokenizer.json").exists()
    assert BertChineseTokenizer(str(plain)).vocab_fingerprint() == BertChineseTokenizer(str(full)).vocab_fingerprint()


@pytest.mark.parametrize(("content", "message"), [
    ("", "the vocabulary is empty"),
    ("\n".join(t for t in tiny.vocab_tokens() if t != "[MASK]"), "no [MASK] token"),
    ("\n".join(tiny.vocab_tokens() + ["的"]), "duplicate token '的'"),
])
def test_bad_vocab_txt_is_an_error(tmp_path: Path, content: str, message: str) -> None:
    from tinyzh.errors import InputError

    (tmp_path / "vocab.txt").write_text(content + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)) as info:
        BertChineseTokenizer(str(tmp_path))
    assert str(tmp_path / "vocab.txt") in str(info.value)


def test_tokenizer_without_mask_token_is_an_error(tmp_path: Path) -> None:
    from tinyzh.errors import ConfigError

    tok = tiny.build_spm_tokenizer(800)
    tok.mask_token = None
    tok.save_pretrained(str(tmp_path))
    with pytest.raises(ConfigError, match="no mask_token"):
        BertChineseTokenizer(str(tmp_path))


def test_shared_e5_tokenizer_finds_jieba_words(shared_data: Path) -> None:
    model = shared_data / "models" / "multilingual-e5-small-zh"
    if not model.is_dir():
        pytest.skip(f"{model} not found")
    tok = BertChineseTokenizer(str(model))
    assert (tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, tok.unk_token_id, tok.mask_token_id) == (
        0, 2, 1, 3, 26861)
    lines = [line for line in (shared_data / "corpus" / "chid_passages.txt").read_text(encoding="utf-8").splitlines()
             if line.strip()][:400]
    encoded = tok.encode_words(lines)
    assert encoded == tok.encode_words_reference(lines)
    words = sum(len({w for w in e.word_ids if w >= 0}) for e in encoded)
    tokens = sum(len(e.input_ids) for e in encoded)
    assert words > 0.6 * tokens  # about 15 words in 20 tokens a line, not 1 (the whole line) as before
