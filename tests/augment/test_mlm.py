"""The masked-LM augmenter: single CJK characters only, batched forward passes, windows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tinyzh import plugins
from tinyzh.augment.mlm import MlmAugmenter
from tinyzh.chinese import is_cjk
from tinyzh.errors import ConfigError
from tinyzh.protocols import Augmenter


@pytest.fixture(scope="module")
def mlm(tiny_teacher_dir: Path) -> MlmAugmenter:
    torch.set_num_threads(1)
    return MlmAugmenter(teacher=str(tiny_teacher_dir), top_k=5, batch_size=8)


TEXT = [("猫", "n"), ("喜欢", "v"), ("吃", "v"), ("鱼", "n"), ("，", "x"), ("3", "m"), ("的", "uj"), ("ok", "eng")]


def test_candidates_are_cjk_characters_for_single_character_words_only(mlm: MlmAugmenter) -> None:
    (row,) = mlm.candidates([TEXT])
    for (word, _), candidates in zip(TEXT, row, strict=True):
        if word in ("猫", "吃", "鱼"):
            assert len(candidates) == 5 and word not in candidates
            assert all(len(c) == 1 and is_cjk(c) for c in candidates)
        else:  # multi-character, punctuation, numbers, stop words, Latin
            assert candidates == []


def test_masked_positions_are_batched_across_texts(mlm: MlmAugmenter) -> None:
    texts = [TEXT] * 10  # 3 masked positions each -> 30 rows
    before = mlm.forward_calls
    out = mlm.candidates(texts)
    assert mlm.forward_calls - before == math.ceil(30 / 8)
    assert out == [out[0]] * 10  # same text, same guesses, wherever it sits in the batch


def test_rows_mask_the_right_token_and_fit_the_window(tiny_teacher_dir: Path) -> None:
    aug = MlmAugmenter(teacher=str(tiny_teacher_dir), top_k=3, window=16)
    long_text = [(c, "n") for c in "我们的生活质量很好" * 10]  # 90 characters
    rows = aug.masked_rows([long_text])
    assert rows and all(len(r.input_ids) <= 16 for r in rows)
    tok = aug.tokenizer
    for r in rows:
        assert r.input_ids[0] == tok.cls_token_id and r.input_ids[-1] == tok.sep_token_id
        assert r.input_ids[r.mask_at] == tok.mask_token_id and r.input_ids.count(tok.mask_token_id) == 1
    # the character right after the mask is the text's next character
    r = rows[40]
    following = tok.convert_ids_to_tokens([r.input_ids[r.mask_at + 1]])[0]
    assert following == long_text[r.word + 1][0]


def test_missing_teacher_is_a_config_error(tmp_path: Path, vocab_dir: Path) -> None:
    with pytest.raises(ConfigError, match="--teacher"):
        MlmAugmenter(teacher=str(vocab_dir))  # a vocabulary but no model


def test_mlm_loads_through_its_entry_point(tiny_teacher_dir: Path) -> None:
    aug = plugins.get_augmenter("mlm", teacher=str(tiny_teacher_dir), top_k=2)
    assert isinstance(aug, Augmenter) and aug.word_scope == "single"


def test_a_checkpoint_without_a_masked_lm_head_is_an_error(tmp_path: Path) -> None:
    """multilingual-e5 ships no head: transformers would make a random one and fill masks with noise."""
    from tests import tiny

    spm = tiny.write_spm_tokenizer(tmp_path / "spm")
    encoder = tiny.save_tiny_model(tmp_path / "encoder", spm, model_type="bert", kind="base")
    with pytest.raises(ConfigError, match="has no trained masked-LM head .*cls.predictions"):
        MlmAugmenter(teacher=str(encoder))


def test_an_xlm_roberta_masked_lm_with_sentencepiece_works(tmp_path: Path) -> None:
    from tests import tiny

    spm = tiny.write_spm_tokenizer(tmp_path / "spm")
    teacher = tiny.save_tiny_model(tmp_path / "xlmr", spm, model_type="xlm-roberta", kind="mlm", type_vocab_size=1)
    aug = MlmAugmenter(teacher=str(teacher), top_k=3)
    (row,) = aug.candidates([[("今天", "t"), ("天", "n"), ("很", "d"), ("好", "a")]])
    assert row[0] == [] and len(row[1]) == 3 and all(len(c) == 1 and is_cjk(c) for c in row[1])


def test_a_teacher_directory_without_config_json_is_named(tmp_path: Path, tiny_teacher_dir: Path) -> None:
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    for path in tiny_teacher_dir.iterdir():
        if path.name != "config.json":
            (teacher / path.name).write_bytes(path.read_bytes())
    with pytest.raises(ConfigError, match="has no config.json, so it is not a model checkpoint"):
        MlmAugmenter(teacher=str(teacher))
