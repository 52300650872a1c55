"""bert-chinese: the vectorised path equals Hugging Face + word_boundaries; boundaries on mixed text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyzh.tokenizers.bert_chinese import BertChineseTokenizer

MIXED = [
    "我爱北京天安门",
    "iPhone12 Pro售价5999元，T恤100%纯棉!",
    "ＡＢＣ全角字母１２３和，全角标点！",
    "Café naïve İstanbul ΣΑΣ 〇々ゆ 한국 ☺ 😀",
    "[MASK]是[UNK]吗？a[SEP]b",
    "控制\x00字符\u200b和\ufeff格式\u202e字符",
    "tab\tand  spaces　全角空格",
    "",
    "。。。！？",
    "hello world ok bert app vip",
    "丶丿乀⺀ 〡 㐀㐁 𠀀 豈",  # radicals, CJK extension A/B, a compatibility ideograph
]


@pytest.fixture(scope="module")
def tok(vocab_dir: Path) -> BertChineseTokenizer:
    return BertChineseTokenizer(str(vocab_dir))


def test_fast_path_equals_reference_on_mixed_text(tok: BertChineseTokenizer) -> None:
    assert tok._flat is not None
    assert tok.encode_words(MIXED) == tok.encode_words_reference(MIXED)


def test_reference_ids_are_huggingface_ids(tok: BertChineseTokenizer) -> None:
    for text, enc in zip(MIXED, tok.encode_words(MIXED), strict=True):
        assert enc.input_ids == tok.hf(text, add_special_tokens=False)["input_ids"]


def test_word_ids_are_contiguous_from_zero(tok: BertChineseTokenizer) -> None:
    for enc in tok.encode_words(MIXED):
        if enc.word_ids:
            assert enc.word_ids[0] == 0 and set(np.diff(enc.word_ids)) <= {0, 1}


def words_of(tok: BertChineseTokenizer, text: str) -> list[str]:
    enc = tok.encode_words([text])[0]
    tokens = tok.convert_ids_to_tokens(enc.input_ids)
    words: list[str] = []
    for token, word, prev in zip(tokens, enc.word_ids, [-1, *enc.word_ids], strict=False):
        piece = token.removeprefix("##")
        if word == prev:
            words[-1] += piece
        else:
            words.append(piece)
    return words


def test_boundaries_on_mixed_text(tok: BertChineseTokenizer) -> None:
    assert words_of(tok, "我喜欢北京") == ["我", "喜欢", "北京"]
    # Latin words stay whole (WordPiece pieces join), digits and punctuation are words of their own.
    assert words_of(tok, "iphone12很好!") == ["iphone12", "很", "好", "!"]
    assert words_of(tok, "手机2023年") == ["手机", "2023", "年"]
    # Full-width letters and digits make one BERT pre-token (one [UNK] in the tiny vocabulary).
    assert words_of(tok, "ＡＢ１２手机") == ["[UNK]", "手机"]
    assert words_of(tok, "，手机。") == ["，", "手机", "。"]


def test_segmenters_give_the_same_tokens_and_words(vocab_dir: Path) -> None:
    pytest.importorskip("rjieba")
    texts = [*MIXED, "我常在雨中跑步", "常在雨中跑"]
    jieba_tok = BertChineseTokenizer(str(vocab_dir), segmenter="jieba")
    rjieba_tok = BertChineseTokenizer(str(vocab_dir), segmenter="rjieba")
    assert jieba_tok.encode_words(texts) == rjieba_tok.encode_words(texts)


def test_plain_vocab_and_tokenizer_files_agree(tok: BertChineseTokenizer, tiny_teacher_dir: Path) -> None:
    full = BertChineseTokenizer(str(tiny_teacher_dir))  # tokenizer.json + config: loaded by transformers
    assert full.vocab_fingerprint() == tok.vocab_fingerprint()
    assert (full.vocab_size, full.mask_token_id, full.cls_token_id) == (tok.vocab_size, tok.mask_token_id,
                                                                        tok.cls_token_id)
    assert full.encode_words(MIXED) == tok.encode_words(MIXED)


def test_shared_corpora_fast_equals_reference(shared_data: Path) -> None:
    tok = BertChineseTokenizer(str(shared_data / "vocab" / "bert-base-chinese"), segmenter="rjieba")
    lines: list[str] = []
    for path in sorted((shared_data / "corpus").glob("*.txt")):
        with open(path, encoding="utf-8") as handle:
            lines += [line.strip() for _, line in zip(range(1500), handle, strict=False) if line.strip()]
    assert tok.encode_words(lines) == tok.encode_words_reference(lines)
