"""The model side of vocabulary pruning: load a checkpoint, keep only some rows of its vocabulary tensors.

Sliced in place (the ``Parameter`` objects stay, so tied weights stay tied): the input embeddings
(V, H), the output embeddings of a masked-LM head (V, H) and their bias (V,). Any other tensor with a
vocabulary-sized dimension stops the run, rather than being saved out of step with the tokenizer.
``config.vocab_size`` and the config's special-token ids (pad, bos, eos, ...) follow the new ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyzh.errors import ConfigError
from tinyzh.hf import quiet_transformers


def load_model(directory: Path) -> nn.Module:
    """The checkpoint as its saved architecture (``config.architectures[0]``), else ``AutoModel``."""
    import transformers

    config_file = directory / "config.json"
    if not config_file.is_file():
        raise ConfigError(f"{directory}: no config.json; give a checkpoint directory written by save_pretrained")
    architectures = json.loads(config_file.read_text(encoding="utf-8")).get("architectures") or []
    loader = getattr(transformers, architectures[0], None) if architectures else None
    loader = loader if hasattr(loader, "from_pretrained") else transformers.AutoModel
    model, missing = _from_pretrained(loader, directory)
    if missing and all(key.startswith("pooler.") for key in missing):
        # A bare encoder saved without its pooler (e5): keep it so, rather than save a random pooler.
        model, missing = _from_pretrained(loader, directory, add_pooling_layer=False)
    if missing:
        raise ConfigError(f"{directory}: the checkpoint lacks {len(missing)} weight(s) of {type(model).__name__} "
                          f"({', '.join(sorted(missing)[:3])}); saving it would store random weights as trained ones")
    return model.eval()


def _from_pretrained(loader: Any, directory: Path, **kwargs: Any) -> tuple[nn.Module, list[str]]:
    try:
        with quiet_transformers():
            model, info = loader.from_pretrained(str(directory), output_loading_info=True, **kwargs)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"could not load {directory} ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    return model, list(info.get("missing_keys") or [])


def vocab_rows(model: nn.Module) -> int:
    embeddings = model.get_input_embeddings()
    if not isinstance(embeddings, nn.Embedding):
        raise ConfigError(f"{type(model).__name__}: input embeddings are {type(embeddings).__name__}, "
                          "not an nn.Embedding; prune-vocab cannot slice them")
    return embeddings.num_embeddings


def config_token_ids(config: Any) -> set[int]:
    """The ids a config names (``pad_token_id``, ``eos_token_id`` as an int or a list, ...)."""
    ids: set[int] = set()
    for key, value in config.to_dict().items():
        if key.endswith("_token_id"):
            ids.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int))
    return ids


def prune_rows(model: nn.Module, keep: list[int]) -> list[str]:
    """Keep rows ``keep`` (sorted old ids) of every vocabulary tensor; returns the names sliced."""
    old_rows = vocab_rows(model)
    index = torch.tensor(keep, dtype=torch.long)
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    targets = {id(inputs.weight): inputs.weight}
    if outputs is not None:
        targets[id(outputs.weight)] = outputs.weight
        if getattr(outputs, "bias", None) is not None:
            targets[id(outputs.bias)] = outputs.bias
    sliced, unknown = [], []
    for name, tensor in _named_tensors(model):
        if id(tensor) in targets:
            sliced.append(name)
        elif old_rows in tensor.shape:
            unknown.append(f"{name} {tuple(tensor.shape)}")
    if unknown:
        raise ConfigError(f"{type(model).__name__} has vocabulary-sized tensors prune-vocab does not know how to "
                          f"slice: {', '.join(unknown[:5])}")
    with torch.no_grad():
        for tensor in targets.values():
            tensor.data = tensor.data.index_select(0, index).clone()
    inputs.num_embeddings = len(keep)
    if inputs.padding_idx is not None:
        inputs.padding_idx = keep.index(inputs.padding_idx) if inputs.padding_idx in keep else None
    if outputs is not None and hasattr(outputs, "out_features"):
        outputs.out_features = len(keep)
    return sliced


def _named_tensors(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Parameters and buffers, every alias of a tied tensor listed once by its first name."""
    seen: set[int] = set()
    found = []
    for name, tensor in [*model.named_parameters(remove_duplicate=False), *model.named_buffers()]:
        if id(tensor) not in seen:
            seen.add(id(tensor))
            found.append((name, tensor))
    return found


def remap_config(config: Any, keep: list[int]) -> None:
    """``vocab_size`` and every ``*_token_id`` in the new id space (ids outside the old one are left alone)."""
    new_id = {old: new for new, old in enumerate(keep)}
    old_size = config.vocab_size
    config.vocab_size = len(keep)
    for key, value in config.to_dict().items():
        if not key.endswith("_token_id") or value is None:
            continue
        if isinstance(value, list):
            setattr(config, key, [new_id.get(v, v) if isinstance(v, int) and v < old_size else v for v in value])
        elif isinstance(value, int) and 0 <= value < old_size:
            setattr(config, key, new_id[value])


def parameter_count(model: nn.Module) -> tuple[int, int]:
    """(parameters, bytes) of the distinct parameters (a tied matrix counts once)."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() * p.element_size() for p in params)
