"""The PyTorch side of an export: load a checkpoint, give it plain tensor inputs/outputs, make inputs.

Exporters trace a module whose ``forward`` takes and returns tensors, so :class:`TensorModule` wraps
a Hugging Face model: ``(input_ids, attention_mask, token_type_ids)`` (B, T) int64 in, one tensor
out — ``logits`` (B, C) for a sequence classifier, ``last_hidden_state`` (B, T, H) otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from tinyzh.errors import ConfigError
from tinyzh.hf import load_pretrained

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
WEIGHT_PATTERNS = ("*.safetensors", "*.bin")
ROBERTA_FAMILY = ("roberta", "xlm-roberta", "camembert")
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


class TensorModule(torch.nn.Module):
    """A Hugging Face BERT with tensors in and one tensor out (see the module docstring)."""

    def __init__(self, model: torch.nn.Module, output_name: str) -> None:
        super().__init__()
        self.model = model
        self.output_name = output_name

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return getattr(out, self.output_name)


def load_for_export(directory: Path, attn_implementation: str | None = None) -> TensorModule:
    """The checkpoint in ``directory`` in eval mode: a sequence classifier if it is one, else the encoder.

    ``attn_implementation="eager"`` gives the attention graph ONNX Runtime's fusions recognise;
    None keeps transformers' default (SDPA), which is what a PyTorch deployment runs.
    """
    config_file = directory / "config.json"
    if not config_file.is_file():
        raise ConfigError(f"{directory} has no config.json; give a directory written by save_pretrained")
    architectures = json.loads(config_file.read_text(encoding="utf-8")).get("architectures") or []
    is_classifier = any(name.endswith("ForSequenceClassification") for name in architectures)
    from tinyzh.hf import quiet_transformers

    with quiet_transformers():
        return _load(directory, is_classifier, attn_implementation)


def _load(directory: Path, is_classifier: bool, attn_implementation: str | None) -> TensorModule:
    from transformers import AutoModel, AutoModelForSequenceClassification

    hint = "give a saved Hugging Face checkpoint directory"
    options = {} if attn_implementation is None else {"attn_implementation": attn_implementation}
    if is_classifier:
        model = load_pretrained(AutoModelForSequenceClassification, str(directory), "model", hint=hint, **options)
        output_name = "logits"
    else:  # a base or masked-LM checkpoint: export the encoder, whose states a caller pools itself
        model = load_pretrained(AutoModel, str(directory), "model", hint=hint, add_pooling_layer=False, **options)
        output_name = "last_hidden_state"
    return TensorModule(model, output_name).eval()


def example_inputs(
    module: TensorModule, batch_size: int, seq_len: int, seed: int = 0, pad: bool = True
) -> tuple[torch.Tensor, ...]:
    """Random ``(input_ids, attention_mask, token_type_ids)``, each (B, T); with ``pad`` the last row is
    half padding.

    Padding in the check batch makes sure the exported graph honours ``attention_mask``; ids avoid the
    first 5 vocabulary entries (BERT's special tokens).
    """
    config = module.model.config
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, config.vocab_size, (batch_size, seq_len), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    if pad and seq_len > 1:
        attention_mask[-1, seq_len // 2 :] = 0
        input_ids[-1, seq_len // 2 :] = config.pad_token_id or 0
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, seq_len // 2 :] = 1  # a sentence pair: segment B is the second half
    return input_ids, attention_mask, token_type_ids


def max_tokens(config: Any) -> int:
    """Longest input the model takes: ``max_position_embeddings``, less RoBERTa's padding offset."""
    limit = int(config.max_position_embeddings)
    if getattr(config, "model_type", "") in ROBERTA_FAMILY:  # positions start at pad_token_id + 1
        limit -= int(config.pad_token_id or 0) + 1
    return limit


def check_seq_len(module: TensorModule, seq_len: int, directory: Path) -> None:
    """A ``ConfigError`` when ``--seq-len`` is longer than the model can take (never clip silently)."""
    config = module.model.config
    limit = max_tokens(config)
    if seq_len > limit:
        raise ConfigError(
            f"--seq-len {seq_len} is longer than {directory}'s max_position_embeddings "
            f"({config.max_position_embeddings}, so at most {limit} tokens); give --seq-len {limit} or less"
        )


def checkpoint_bytes(directory: Path) -> int:
    """Bytes of the checkpoint's weight files (what a PyTorch deployment ships)."""
    return sum(path.stat().st_size for pattern in WEIGHT_PATTERNS for path in directory.glob(pattern))


def copy_side_files(model_dir: Path, output_dir: Path) -> list[str]:
    """Copy config.json and the tokenizer files beside an export written outside the checkpoint."""
    copied = []
    if output_dir.resolve() == model_dir.resolve():
        return copied
    for name in ("config.json", *TOKENIZER_FILES):
        source, target = model_dir / name, output_dir / name
        if source.is_file() and not target.exists():
            target.write_bytes(source.read_bytes())
            copied.append(name)
    return copied
