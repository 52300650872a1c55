"""``tinyzh pregen``: BERT pre-training instances with Chinese whole-word masking, as binary shards.

Modules, in the order data flows: ``corpus`` (streaming reader, bad-input counts) -> ``worker``
(tokenize a chunk once, then per epoch ``instances`` + ``masking``) -> ``shards`` (binary files) ->
``runner`` (processes, resume, manifest); ``dataset`` reads the result back. Usage::

    from tinyzh.pregen import PregenConfig, run_pregen, PregenDataset, collate_batch
    manifest = run_pregen(PregenConfig(corpus=[Path("corpus.txt")], output=Path("pregen")))
    ds = PregenDataset("pregen")
"""

from __future__ import annotations

from typing import Any

from tinyzh.pregen.config import PregenConfig
from tinyzh.pregen.runner import run_pregen

__all__ = ["PregenConfig", "run_pregen", "PregenDataset", "collate_batch"]


def __getattr__(name: str) -> Any:  # the reader needs torch; generating does not
    if name in ("PregenDataset", "collate_batch"):
        from tinyzh.pregen import dataset

        return getattr(dataset, name)
    raise AttributeError(f"module 'tinyzh.pregen' has no attribute {name!r}")
