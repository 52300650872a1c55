"""Augmenter plugin ``mlm``: the teacher's masked-LM guesses for single-character words.

TinyBERT's recipe (Jiao et al. 2020, Algorithm 1): a single-piece word is masked and the teacher's
masked-LM top-K predictions become its candidates. For Chinese every single-character word is one
WordPiece, so this augmenter handles exactly those (``word_scope = "single"``) and keeps only CJK
predictions. Each masked word becomes one row (the text cut to a ``window`` of tokens around it);
all rows of a batch of texts go through the model together, ``batch_size`` rows a forward pass
under ``torch.inference_mode``, and the vocabulary projection runs on the masked positions only, not
on every token. Usage::

    aug = MlmAugmenter(teacher="bert-base-chinese", top_k=15)
    aug.candidates([[("我", "r"), ("爱", "v"), ("猫", "n")]])   # [[[], ["喜", "恨", ...], ["狗", ...]]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tinyzh.augment.words import replaceable
from tinyzh.chinese import is_cjk
from tinyzh.config import DEFAULT_TEACHER
from tinyzh.errors import ConfigError
from tinyzh.hf import load_hf_tokenizer, load_masked_lm, mlm_head_of

# Tokens of context around each mask, [CLS] and [SEP] included. Every masked word costs a forward
# pass over its window, so the window, not the text, sets the price; 31 characters either side is
# plenty to guess one character, and long texts (OCNLI premises) cost half what 128 would.
DEFAULT_WINDOW = 64


@dataclass(frozen=True)
class MaskedRow:
    """One masked copy of a text: which word it serves and the model input."""

    text: int  # index in the batch of texts
    word: int  # index of the masked word in that text
    input_ids: list[int]  # [CLS] ... [MASK] ... [SEP]
    mask_at: int  # position of [MASK] in input_ids


class MlmAugmenter:
    """Masked-LM candidates for single CJK characters; see the module docstring."""

    name = "mlm"
    word_scope = "single"

    def __init__(
        self,
        teacher: str = DEFAULT_TEACHER,
        top_k: int = 15,
        batch_size: int = 128,
        device: str = "cpu",
        window: int = DEFAULT_WINDOW,
    ) -> None:
        if top_k < 1 or batch_size < 1 or window < 3:
            raise ConfigError(f"mlm needs top_k >= 1, batch_size >= 1, window >= 3; got {top_k}, {batch_size}, {window}")
        self.top_k, self.batch_size, self.window = top_k, batch_size, window
        self.tokenizer = load_hf_tokenizer(teacher)
        self.model = _load_teacher(teacher, device)
        self.device = device
        self.forward_calls = 0  # forward passes so far (tests check the batching)
        tokens = self.tokenizer.convert_ids_to_tokens(list(range(len(self.tokenizer))))
        import torch

        # (V,) True where a vocabulary entry is one CJK character: the only allowed predictions.
        self._cjk = torch.tensor([len(t) == 1 and is_cjk(t) for t in tokens], device=device)
        self._tokens = tokens

    def candidates(self, texts: Sequence[Sequence[tuple[str, str]]]) -> list[list[list[str]]]:
        out: list[list[list[str]]] = [[[] for _ in text] for text in texts]
        rows = self.masked_rows(texts)
        rows.sort(key=lambda r: len(r.input_ids))  # similar lengths share a batch: less padding
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            for row, ids in zip(batch, self.predict(batch), strict=True):
                original = texts[row.text][row.word][0]
                words = [self._tokens[i] for i in ids if self._tokens[i] != original]
                out[row.text][row.word] = words[: self.top_k]
        return out

    def masked_rows(self, texts: Sequence[Sequence[tuple[str, str]]]) -> list[MaskedRow]:
        """One row per replaceable single-character word, the text cut to a window around it."""
        plain = ["".join(w for w, _ in text) for text in texts]
        encoded = self.tokenizer(plain, add_special_tokens=False, return_offsets_mapping=True,
                                 return_attention_mask=False, return_token_type_ids=False)
        rows = []
        for t, text in enumerate(texts):
            ids, offsets = encoded["input_ids"][t], encoded["offset_mapping"][t]
            token_at = {start: i for i, (start, end) in enumerate(offsets) if end == start + 1}
            char = 0
            for w, (word, tag) in enumerate(text):
                if len(word) == 1 and replaceable(word, tag) and char in token_at:
                    rows.append(self._row(t, w, ids, token_at[char]))
                char += len(word)
        return rows

    def _row(self, text: int, word: int, ids: list[int], token: int) -> MaskedRow:
        room = self.window - 2  # [CLS] and [SEP]
        start = min(max(token - room // 2, 0), max(len(ids) - room, 0))
        window = list(ids[start : start + room])
        window[token - start] = self.tokenizer.mask_token_id
        input_ids = [self.tokenizer.cls_token_id, *window, self.tokenizer.sep_token_id]
        return MaskedRow(text, word, input_ids, token - start + 1)

    def predict(self, rows: Sequence[MaskedRow]) -> list[list[int]]:
        """Top ``top_k + 1`` CJK token ids at each row's mask (one extra: the original may be among them)."""
        import torch

        width = max(len(r.input_ids) for r in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)  # (B, T)
        attention = torch.zeros((len(rows), width), dtype=torch.long)  # (B, T)
        for i, row in enumerate(rows):
            ids[i, : len(row.input_ids)] = torch.tensor(row.input_ids)
            attention[i, : len(row.input_ids)] = 1
        mask_at = torch.tensor([r.mask_at for r in rows])  # (B,)
        with torch.inference_mode():
            self.forward_calls += 1
            hidden = self.model.base_model(input_ids=ids.to(self.device), attention_mask=attention.to(self.device))
            at_mask = hidden.last_hidden_state[torch.arange(len(rows)), mask_at.to(self.device)]  # (B, H)
            logits = mlm_head_of(self.model)(at_mask)  # (B, V): the vocabulary projection at the masks only
            logits = logits.masked_fill(~self._cjk, float("-inf"))
            top = logits.topk(min(self.top_k + 1, int(self._cjk.sum())), dim=-1).indices  # (B, K+1)
        return top.cpu().tolist()


def _load_teacher(teacher: str, device: str) -> Any:
    """The teacher's masked-LM model in eval mode; an error when it has no trained head."""
    model = load_masked_lm(teacher, "--teacher", instead=(
        "give a checkpoint with its masked-LM head (bert-base-chinese, or a student of `tinyzh distill --stage "
        "general`), or augment with --augmenter synonym,homophone"))
    return model.to(device).eval()
