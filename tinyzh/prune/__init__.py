"""Vocabulary pruning: keep only the tokens some texts need, in the tokenizer and the model.

The embedding matrix of a small Chinese student is most of it (bert-base-chinese's 21,128 tokens are 58 %
of TinyBERT-4's 11.4M parameters); texts of one domain use a fraction of the tokens. As TextPruner's
vocabulary pruning does, the tokens the texts produce are kept, plus the special tokens and, by default,
every single-character CJK, ASCII and punctuation token so unseen text still tokenizes. On the given
texts the pruned model's tokens and outputs equal the original's. Usage::

    from tinyzh.prune import prune_model, read_texts
    report = prune_model("teacher/", read_texts([Path("corpus.txt")]), "teacher-pruned/")
    print(report.tokens_before, report.tokens_after, report.mb_before, report.mb_after)
"""

from __future__ import annotations

from tinyzh.prune.runner import PruneReport, load_tokenizer, prune_model
from tinyzh.prune.texts import read_texts

__all__ = ["PruneReport", "load_tokenizer", "prune_model", "read_texts"]
