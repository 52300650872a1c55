"""Shared defaults and student presets.

Each command keeps its own dataclass config beside its code (``tinyzh.pregen.config`` …);
this module holds what several commands agree on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tinyzh.errors import ConfigError

DEFAULT_TEACHER = "bert-base-chinese"
DEFAULT_TOKENIZER = "bert-base-chinese"
DEFAULT_TOKENIZER_PLUGIN = "bert-chinese"
DEFAULT_MAX_SEQ_LEN = 128


@dataclass(frozen=True)
class StudentPreset:
    """Shape of a BERT student; ``to_bert_config_kwargs`` feeds ``transformers.BertConfig``."""

    num_hidden_layers: int
    hidden_size: int
    intermediate_size: int
    num_attention_heads: int

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"hidden_size {self.hidden_size} is not divisible by num_attention_heads "
                f"{self.num_attention_heads}"
            )

    def to_bert_config_kwargs(self) -> dict[str, Any]:
        return asdict(self)


# TinyBERT's published shapes (Jiao et al. 2020, section 4.1). 312 / 12 heads = 26 dims a head.
STUDENT_PRESETS: dict[str, StudentPreset] = {
    "tinybert-4": StudentPreset(num_hidden_layers=4, hidden_size=312, intermediate_size=1200, num_attention_heads=12),
    "tinybert-6": StudentPreset(num_hidden_layers=6, hidden_size=768, intermediate_size=3072, num_attention_heads=12),
}


def get_preset(name: str) -> StudentPreset:
    try:
        return STUDENT_PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown student preset {name!r}; available: {', '.join(sorted(STUDENT_PRESETS))}"
        ) from None
