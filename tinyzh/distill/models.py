"""Loading the teacher, building the student, the checks between them, and saving the result.

- general stage: teacher = ``AutoModel`` (the bare encoder: its MLM head would cost a V x D matmul per
  token for nothing); student = ``BertForMaskedLM`` so the saved checkpoint keeps an MLM head and loads
  with ``AutoModel`` / ``AutoModelForMaskedLM`` / ``AutoModelForSequenceClassification``.
- task stage: teacher and student are ``BertForSequenceClassification`` with the task's labels.

The student comes from a preset name (``tinybert-4``), a ``config.json`` file or a checkpoint directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from tinyzh.config import STUDENT_PRESETS
from tinyzh.errors import ConfigError
from tinyzh.hf import load_error_reason, quiet_transformers, weights_errors


def _load(loader: Any, name: str, what: str, **kwargs: Any) -> Any:
    try:
        with quiet_transformers():
            return loader.from_pretrained(name, **kwargs)
    except weights_errors() as exc:
        raise ConfigError(f"could not load the {what} {name!r} ({load_error_reason(exc)})") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"could not load the {what} {name!r} ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "give a local checkpoint directory when offline"
        ) from None


def load_teacher(name: str, stage: str) -> nn.Module:
    """The teacher in eval mode with gradients off."""
    from transformers import AutoModel, AutoModelForSequenceClassification

    if stage == "general":  # the bare encoder: no MLM head, no pooler (no loss reads them)
        teacher = _load(AutoModel, name, "teacher", attn_implementation="sdpa", add_pooling_layer=False)
    else:
        teacher = _load(AutoModelForSequenceClassification, name, "teacher", attn_implementation="sdpa")
    teacher.eval()
    teacher.requires_grad_(False)
    return teacher


def load_tokenizer(name: str) -> Any:
    """The teacher's tokenizer (the student inherits it)."""
    from tinyzh.tokenizers.bert_chinese import BertChineseTokenizer

    return BertChineseTokenizer(name)


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


def _student_config(spec: str, teacher_config: Any) -> tuple[Any, Path | None]:
    """(BertConfig, checkpoint dir or None) for a preset name, a config.json file or a checkpoint dir."""
    from transformers import BertConfig

    if spec in STUDENT_PRESETS:
        shape = STUDENT_PRESETS[spec].to_bert_config_kwargs()
        inherit = ("vocab_size", "max_position_embeddings", "type_vocab_size", "pad_token_id", "layer_norm_eps")
        kwargs = {k: getattr(teacher_config, k) for k in inherit if hasattr(teacher_config, k)}
        return BertConfig(**kwargs, **shape), None
    path = Path(spec)
    if path.is_file():
        try:
            return BertConfig.from_json_file(str(path)), None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--student {spec}: not a BERT config.json ({exc})") from None
    if path.is_dir() and (path / "config.json").exists():
        return BertConfig.from_pretrained(str(path)), path
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


def check_student_tokenizer(student_dir: Path | None, fingerprint: str, student: str, teacher: str) -> None:
    """A student checkpoint that ships tokenizer files must ship the teacher's vocabulary."""
    if student_dir is None or not any((student_dir / f).exists() for f in ("vocab.txt", "tokenizer.json")):
        return
    from tinyzh.tokenizers.bert_chinese import BertChineseTokenizer

    if BertChineseTokenizer(str(student_dir)).vocab_fingerprint() != fingerprint:
        raise ConfigError(
            f"vocabulary mismatch: student {student!r} ships a tokenizer different from teacher {teacher!r}'s"
        )


def build_student(spec: str, teacher: nn.Module, teacher_name: str, stage: str,
                  labels: tuple[str, ...] | None = None) -> nn.Module:
    """The student model in train mode (random init from a preset/config, or loaded from a checkpoint)."""
    from transformers import BertForMaskedLM, BertForSequenceClassification

    config, directory = _student_config(spec, teacher.config)
    check_vocab(config, teacher.config, spec, teacher_name)
    if config.num_attention_heads != teacher.config.num_attention_heads:
        raise ConfigError(
            f"student {spec!r} has {config.num_attention_heads} attention heads and teacher {teacher_name!r} "
            f"{teacher.config.num_attention_heads}; the attention loss compares heads one to one"
        )
    if stage == "general":
        cls: Any = BertForMaskedLM
        extra: dict[str, Any] = {}
    else:
        cls = BertForSequenceClassification
        labels = labels or ()
        extra = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
                 "label2id": {label: i for i, label in enumerate(labels)}}
    if directory is not None:
        student = _load(cls, str(directory), "student", attn_implementation="sdpa", **extra)
    else:
        for key, value in extra.items():
            setattr(config, key, value)
        config._attn_implementation = "sdpa"
        student = cls(config)
    student.train()
    return student


def encoder_of(model: nn.Module) -> nn.Module:
    """The ``BertModel`` inside a task or MLM model (or the model itself)."""
    return getattr(model, "bert", model)


def save_student(student: nn.Module, tokenizer: Any, directory: Path, extra_json: dict[str, dict]) -> None:
    """Write an ordinary HF checkpoint directory: config.json, model.safetensors, tokenizer files."""
    import json

    from tinyzh.io import output_errors, write_atomic

    # config._attn_implementation is not serialised, so a capturing model saves as a plain one.
    size = sum(p.numel() * p.element_size() for p in student.parameters())
    with output_errors(directory, size), quiet_transformers():
        directory.mkdir(parents=True, exist_ok=True)
        student.save_pretrained(str(directory))
        tokenizer.save_pretrained(directory)
    for name, data in extra_json.items():
        write_atomic(directory / name, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
