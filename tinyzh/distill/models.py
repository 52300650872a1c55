"""Loading the teacher, building the student, the checks between them, and saving the result.

- general stage: teacher = ``AutoModel`` (the bare encoder: its MLM head would cost a V x D matmul per
  token for nothing); student = ``AutoModelForMaskedLM`` of the teacher's family so the saved checkpoint
  keeps an MLM head and loads with ``AutoModel`` / ``AutoModelForMaskedLM`` /
  ``AutoModelForSequenceClassification``.
- task stage: teacher and student are ``AutoModelForSequenceClassification`` with the task's labels.

Families: any transformers encoder whose self-attention has BERT's structure (``query``/``key``/``value``
through transformers' attention interface): ``bert``, ``roberta``, ``xlm-roberta`` (position ids start
after ``padding_idx``), ``ernie``, ``camembert``… A preset student takes the teacher's family and config
(vocabulary, special token ids, positions, token types) with the preset's shape. The student comes from
a preset name (``tinybert-4``), a ``config.json`` file or a checkpoint directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from tinyzh.config import DEFAULT_TOKENIZER_PLUGIN, STUDENT_PRESETS, BertShape
from tinyzh.errors import ConfigError
from tinyzh.hf import first_line, load_pretrained, quiet_transformers


def _load(loader: Any, name: str, what: str, **kwargs: Any) -> Any:
    return load_pretrained(loader, name, what, hint="give a local checkpoint directory when offline", **kwargs)


def load_teacher(name: str, stage: str) -> nn.Module:
    """The teacher in eval mode with gradients off."""
    from transformers import AutoModel, AutoModelForSequenceClassification

    if stage == "general":  # the bare encoder: no MLM head, no pooler (no loss reads them)
        teacher = _load(AutoModel, name, "teacher", attn_implementation="sdpa")
        if getattr(teacher, "pooler", None) is not None:  # BERT-style models skip a pooler that is None
            teacher.pooler = None
    else:
        teacher = _load(AutoModelForSequenceClassification, name, "teacher", attn_implementation="sdpa")
    teacher.eval()
    teacher.requires_grad_(False)
    return teacher


def teacher_tokenizer(name: str, plugin: str = DEFAULT_TOKENIZER_PLUGIN) -> Any:
    """The teacher's tokenizer through a tokenizer plugin (the student inherits it)."""
    from tinyzh.plugins import get_tokenizer

    return get_tokenizer(plugin, name)


def check_tokenizer_fits(tokenizer: Any, model: nn.Module, name: str) -> None:
    """The tokenizer's ids must be ids the model embeds, and its padding id the model's."""
    config = model.config
    if tokenizer.vocab_size > config.vocab_size:
        raise ConfigError(
            f"tokenizer of {name!r} has {tokenizer.vocab_size} tokens but the model embeds only {config.vocab_size}; "
            "ids past the embedding would crash or read garbage: give the model's own tokenizer")
    pad = getattr(config, "pad_token_id", None)
    if pad is not None and pad != tokenizer.pad_token_id:
        raise ConfigError(
            f"{name!r}: the tokenizer pads with id {tokenizer.pad_token_id} but the model's pad_token_id is {pad}; "
            "give the model's own tokenizer")


def check_task_labels(teacher: nn.Module, labels: tuple[str, ...], teacher_name: str, task: str) -> list[int] | None:
    """The teacher's ``id2label`` must hold exactly the task's labels, in any order.

    Returns the teacher logit index of each task label (task order), or None when the orders agree,
    so teacher logits can be put in the student's (the task's) class order.
    """
    id2label = getattr(teacher.config, "id2label", {}) or {}
    found = [str(id2label[i]) for i in sorted(id2label)]
    if sorted(found) != sorted(labels) or len(found) != len(labels):
        raise ConfigError(
            f"teacher {teacher_name!r} predicts labels {found[:12]} but task {task!r} has labels "
            f"{list(labels)[:12]}; give a teacher fine-tuned on {task} (e.g. by `tinyzh eval`)"
        )
    order = [found.index(label) for label in labels]
    return None if order == list(range(len(labels))) else order


# Keys of a teacher's config that describe the teacher itself, not the family a student inherits.
_NOT_INHERITED = ("architectures", "id2label", "label2id", "num_labels", "_name_or_path", "dtype", "torch_dtype",
                  "transformers_version", "finetuning_task", "problem_type", "_source", "model_type",
                  "_attn_implementation_autoset")


def inherited_config(teacher_config: Any, shape: BertShape, positions: int | None = None) -> Any:
    """A student config of ``shape`` in the teacher's family, with its vocabulary, special ids and token
    types; ``positions`` position embeddings (default: the teacher's)."""
    from transformers import AutoConfig

    inherited = {k: v for k, v in teacher_config.to_dict().items() if k not in _NOT_INHERITED}
    if positions is not None:
        inherited["max_position_embeddings"] = positions
    return AutoConfig.for_model(teacher_config.model_type, **{**inherited, **shape.config_kwargs()})


def _student_config(spec: str, teacher_config: Any) -> tuple[Any, Path | None]:
    """(config, checkpoint dir or None) for a preset name, a config.json file or a checkpoint dir."""
    from transformers import AutoConfig

    if spec in STUDENT_PRESETS:
        return inherited_config(teacher_config, STUDENT_PRESETS[spec]), None
    path = Path(spec)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return AutoConfig.for_model(data.pop("model_type", "bert"), **data), None
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"--student {spec}: not a model config.json ({first_line(exc)})") from None
    if path.is_dir() and (path / "config.json").exists():
        return _load(AutoConfig, str(path), "student config"), path
    raise ConfigError(
        f"--student {spec!r} is neither a preset ({', '.join(sorted(STUDENT_PRESETS))}), "
        "a config.json file nor a checkpoint directory"
    )


def check_vocab(student_config: Any, teacher_config: Any, student: str, teacher: str) -> None:
    if student_config.vocab_size != teacher_config.vocab_size:
        raise ConfigError(
            f"vocabulary mismatch: student {student!r} has {student_config.vocab_size} tokens but teacher "
            f"{teacher!r} has {teacher_config.vocab_size}; both must use the teacher's tokenizer"
        )


def check_student_tokenizer(student_dir: Path | None, tokenizer: Any, student: str, teacher: str) -> None:
    """A student checkpoint that ships tokenizer files must ship the teacher's vocabulary."""
    if student_dir is None or not any((student_dir / f).exists() for f in ("vocab.txt", "tokenizer.json")):
        return
    if type(tokenizer)(str(student_dir)).vocab_fingerprint() != tokenizer.vocab_fingerprint():  # same plugin
        raise ConfigError(
            f"vocabulary mismatch: student {student!r} ships a tokenizer different from teacher {teacher!r}'s"
        )


def build_student(spec: str, teacher: nn.Module, teacher_name: str, stage: str,
                  labels: tuple[str, ...] | None = None, same_heads: bool = True) -> nn.Module:
    """The student model in train mode (random init from a preset/config, or loaded from a checkpoint).

    ``same_heads``: the attention loss compares heads one to one (not so MiniLMv2's relations, nor
    the prediction step).
    """
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    config, directory = _student_config(spec, teacher.config)
    check_vocab(config, teacher.config, spec, teacher_name)
    if same_heads and config.num_attention_heads != teacher.config.num_attention_heads:
        raise ConfigError(
            f"student {spec!r} has {config.num_attention_heads} attention heads and teacher {teacher_name!r} "
            f"{teacher.config.num_attention_heads}; the attention loss compares heads one to one "
            "(--attention-loss relation does not)"
        )
    if stage == "general":
        cls: Any = AutoModelForMaskedLM
        extra: dict[str, Any] = {}
    else:
        cls = AutoModelForSequenceClassification
        labels = labels or ()
        extra = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
                 "label2id": {label: i for i, label in enumerate(labels)}}
    if directory is not None:
        student = _load(cls, str(directory), "student", attn_implementation="sdpa", **extra)
    else:
        for key, value in extra.items():
            setattr(config, key, value)
        try:
            student = cls.from_config(config, attn_implementation="sdpa")
        except ValueError as exc:  # a model type without an MLM / classification head in transformers
            raise ConfigError(f"--student {spec!r}: cannot build a {config.model_type} student ({first_line(exc)})") from None
    check_family(student, f"student {spec!r}")
    student.train()
    return student


def check_family(model: nn.Module, what: str) -> None:
    """Attention-score capture needs one BERT-style self-attention module per layer; else name the type."""
    from tinyzh.distill.adaptor import self_attentions

    found = len(self_attentions(model))
    layers = model.config.num_hidden_layers
    if found != layers:
        raise ConfigError(
            f"{what} is a {model.config.model_type!r} model: tinyzh distils encoders whose self-attention has "
            f"BERT's structure (query, key, value), one per layer, and found {found} for {layers} layers; "
            "supported families include bert, roberta, xlm-roberta, ernie")


def encoder_of(model: nn.Module) -> nn.Module:
    """The bare encoder inside a task or MLM model (``model.bert``, ``.roberta``, ``.ernie``…), or the model."""
    return getattr(model, "base_model", model)


def save_student(student: nn.Module, tokenizer: Any, directory: Path, extra_json: dict[str, dict]) -> None:
    """Write an ordinary HF checkpoint directory: config.json, model.safetensors, tokenizer files."""
    from tinyzh.io import output_errors, write_json

    # config._attn_implementation is not serialised, so a capturing model saves as a plain one.
    size = sum(p.numel() * p.element_size() for p in student.parameters())
    with output_errors(directory, size), quiet_transformers():
        directory.mkdir(parents=True, exist_ok=True)
        student.save_pretrained(str(directory))
        tokenizer.save_pretrained(directory)
    for name, data in extra_json.items():
        write_json(directory / name, data)


def replace_modules(model: nn.Module, make: Callable[[str, nn.Module], nn.Module | None]) -> int:
    """Put ``make(name, child)`` in place of every submodule it returns one for; returns how many.

    ``name`` is the child's attribute on its parent. Replacements are not visited again.
    """
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            new = make(name, child)
            if new is not None:
                setattr(parent, name, new)
                replaced += 1
    return replaced
