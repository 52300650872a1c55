"""The demo's own models: a character vocabulary, a teacher pre-trained by masked LM, a blank student.

The hub is never touched. The vocabulary is every character of the bundled corpus and task plus
BERT's special tokens, ASCII and common punctuation (Chinese BERT vocabularies are character-level
for CJK too). The teacher is a small ``BertForMaskedLM`` trained on ``tinyzh pregen``'s instances,
read back through :class:`tinyzh.pregen.PregenDataset`. Usage::

    vocab_dir = write_vocab(out / "vocab", [corpus, *task_files])
    pretrain_teacher(out / "pregen", vocab_dir, out / "teacher", size.teacher, steps=600, ...)
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

from tinyzh.chinese import SPECIAL_TOKENS
from tinyzh.config import BertShape
from tinyzh.hf import load_pretrained

PUNCTUATION = list("，。！？、；：“”‘’（）《》…—·,.!?;:'\"()[]-_/%&+#@*~|")


def corpus_chars(paths: Iterable[Path]) -> list[str]:
    """Every non-space character of ``paths`` (text or JSON lines: only string values count), sorted."""
    chars: set[str] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{"):
                line = " ".join(v for v in json.loads(line).values() if isinstance(v, str))
            chars.update(c for c in line if not c.isspace())
    return sorted(chars)


def write_vocab(directory: Path, sources: Iterable[Path]) -> Path:
    """``directory/vocab.txt``: specials, ASCII, punctuation, then the sources' characters."""
    tokens = list(SPECIAL_TOKENS) + PUNCTUATION + list(string.digits + string.ascii_lowercase)
    tokens += ["##" + c for c in string.ascii_lowercase + string.digits] + corpus_chars(sources)
    seen: set[str] = set()
    unique = [t for t in tokens if not (t in seen or seen.add(t))]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(unique) + "\n", encoding="utf-8")
    return directory


def bert_config(shape: BertShape, vocab_size: int, max_len: int) -> Any:
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, max_position_embeddings=max_len, **shape.config_kwargs())


def save_blank(directory: Path, vocab_dir: Path, shape: BertShape, max_len: int, seed: int) -> Path:
    """A randomly initialised ``BertForMaskedLM`` checkpoint with tokenizer files."""
    from transformers import BertForMaskedLM

    from tinyzh.hf import load_hf_tokenizer

    tokenizer = load_hf_tokenizer(str(vocab_dir))
    torch.manual_seed(seed)
    model = BertForMaskedLM(bert_config(shape, len(tokenizer), max_len))
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


def write_student_config(path: Path, shape: BertShape, vocab_size: int, max_len: int) -> Path:
    """A ``config.json`` for ``tinyzh distill --student``: the student's shape, the teacher's vocabulary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    bert_config(shape, vocab_size, max_len).to_json_file(str(path))
    return path


def pretrain_teacher(
    pregen_dir: Path,
    teacher_dir: Path,
    steps: int,
    lr: float,
    batch_size: int,
    seed: int,
    tick: Callable[[int, float], None] | None = None,
    dropout: float | None = None,
) -> float:
    """Masked-LM training of the blank teacher in ``teacher_dir``, in place; returns the last loss.

    AdamW with linear warm-up (10%) and decay; batches cycle over the pregen instances, every
    instance masked as pregen stored it (static) — pregen's epochs give each sentence several masks.
    ``dropout`` (None: the config's 0.1) replaces the dropout of this training only: a run of a few
    hundred steps learns faster without it (Geiping & Goldstein 2022, "Cramming", section 4.2), and
    the saved config keeps the original for fine-tuning.
    """
    from torch.utils.data import DataLoader
    from transformers import BertForMaskedLM

    from tinyzh.pregen import PregenDataset, collate_batch

    dataset = PregenDataset(pregen_dir)
    pad_id = dataset.manifest["tokenizer"].get("pad_token_id", 0)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator,
                        collate_fn=lambda items: collate_batch(items, pad_id))  # fmt: skip
    model = load_pretrained(BertForMaskedLM, str(teacher_dir), "teacher").train()
    if dropout is not None:  # the modules only: the saved config keeps its dropout for fine-tuning
        _set_dropout(model, dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    loss_value, step = math.nan, 0
    while step < steps:
        for batch in loader:
            # input_ids / token_type_ids / attention_mask / labels: (B, T); labels -100 off the masks
            inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask", "labels")}
            loss = model(**inputs).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step, loss_value = step + 1, float(loss.detach())
            if tick is not None:
                tick(step, loss_value)
            if step >= steps:
                break
    model.save_pretrained(str(teacher_dir))
    return loss_value


def _set_dropout(model: torch.nn.Module, p: float) -> None:
    """Every dropout layer of ``model`` (BERT's embeddings, attention and hidden ones) to ``p``."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p
