"""Small shared helpers around transformers: quiet logging, one way to load, failing fast offline.

tinyzh draws its own rich progress bars and reports, so transformers' load reports ("some weights
were not used", which are intended when an MLM checkpoint is loaded as a bare encoder or a general
student gets a new classification head) and its tqdm bars only alarm. ``-vv`` keeps them.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tinyzh.chinese import SPECIAL_TOKENS
from tinyzh.errors import ConfigError, InputError


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and tqdm bars inside the block, unless debug logging is on."""
    from transformers.utils import logging as hf_logging

    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (an empty message is fine)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def is_local(name_or_path: str) -> bool:
    """A path on disk (or one written like a path), not a hub name."""
    path = Path(name_or_path)
    return path.exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1


def hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the Hugging Face hub cannot be reached (offline mode, no connection), or None when it can.

    transformers retries an unreachable hub for about a minute before failing; one short connection
    attempt says the same in seconds.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    try:
        from huggingface_hub import constants

        host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
        with socket.create_connection((host, 443), timeout=timeout):
            return None
    except OSError:
        return "the hub cannot be reached (no network)"


def _is_tokenizer(loader: Any) -> bool:
    return "Tokenizer" in getattr(loader, "__name__", "")


def load_pretrained(loader: Any, name: str, what: str, *, hint: str = "give a local directory when offline",
                    **kwargs: Any) -> Any:
    """``loader.from_pretrained(name, **kwargs)`` with every library failure as one ``ConfigError`` line.

    A hub name is looked up in the local cache first; when it is not there and the hub is unreachable,
    this fails at once instead of after transformers' retries.
    """
    if not is_local(name):
        try:
            with quiet_transformers():
                return loader.from_pretrained(name, local_files_only=True, **kwargs)
        except (OSError, ValueError):
            pass  # not cached: go to the hub, if there is one
        reason = hub_unreachable()
        if reason is not None:
            raise ConfigError(f"could not load the {what} {name!r}: it is not in the local cache and {reason}; {hint}")
    elif not Path(name).exists():
        raise ConfigError(f"could not load the {what} {name!r}: no such directory")
    elif Path(name).is_dir() and not _is_tokenizer(loader) and not (Path(name) / "config.json").is_file():
        raise ConfigError(f"could not load the {what} {name!r}: the directory has no config.json, so it is not a "
                          "model checkpoint; give the directory that `save_pretrained` wrote")
    try:
        with quiet_transformers():
            return loader.from_pretrained(name, **kwargs)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, *weights_errors()) as exc:
        raise ConfigError(f"could not load the {what} {name!r} ({load_error_reason(exc)}); {hint}") from None


def load_hf_tokenizer(name_or_path: str) -> Any:
    """A Hugging Face tokenizer (fast where one exists) from a hub name or a directory.

    A directory with only ``vocab.txt`` loads as BERT's WordPiece; one with ``tokenizer.json`` (any
    model: WordPiece, SentencePiece Unigram or BPE) through ``AutoTokenizer``.
    """
    from transformers import AutoTokenizer, BertTokenizer

    path = Path(name_or_path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--tokenizer {name_or_path}: expected a directory with vocab.txt or tokenizer files")
    hint = "give a local directory with vocab.txt or tokenizer.json when offline"
    if path.is_dir() and not (path / "tokenizer.json").exists() and not (path / "tokenizer_config.json").exists():
        if not (path / "vocab.txt").exists():
            raise ConfigError(f"--tokenizer {name_or_path}: directory has no vocab.txt or tokenizer.json")
        check_vocab_file(path / "vocab.txt")
        return load_pretrained(BertTokenizer, str(path), "tokenizer", hint=hint)
    return load_pretrained(AutoTokenizer, name_or_path, "tokenizer", hint=hint)




def check_vocab_file(path: Path) -> list[str]:
    """The tokens of a WordPiece ``vocab.txt``; an error for an empty file, duplicates or missing specials."""
    try:
        with open(path, encoding="utf-8") as handle:  # as transformers' load_vocab reads it
            tokens = [token.rstrip("\n") for token in handle.readlines()]
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start}); a vocab.txt is UTF-8 text, one token a line", path) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path) from None
    if not any(t.strip() for t in tokens):
        raise InputError("the vocabulary is empty; expected one token a line (e.g. bert-base-chinese's 21,128)", path)
    seen: dict[str, int] = {}
    for line, token in enumerate(tokens, start=1):
        if token in seen and token.strip():
            raise InputError(f"duplicate token {token!r} (first on line {seen[token]}); token ids would be ambiguous",
                             path, line)
        seen.setdefault(token, line)
    missing = [t for t in SPECIAL_TOKENS if t not in seen]
    if missing:
        raise InputError(
            f"no {', '.join(missing)} token; a BERT vocabulary needs {' '.join(SPECIAL_TOKENS)} (transformers would "
            "add the missing ones after the last id, where the model has no embedding)", path)
    return tokens


MLM_HEADS = ("cls", "lm_head")  # BERT / ERNIE, RoBERTa / XLM-R


def mlm_head_of(model: Any) -> Any:
    """The masked-LM head module of an ``AutoModelForMaskedLM`` model (``cls`` or ``lm_head``)."""
    from torch import nn

    for name in MLM_HEADS:
        head = getattr(model, name, None)
        if isinstance(head, nn.Module):
            return head
    raise ConfigError(f"{type(model).__name__} has no masked-LM head ({' or '.join(MLM_HEADS)})")


def load_masked_lm(name: str, what: str, *, instead: str) -> Any:
    """An ``AutoModelForMaskedLM`` whose head was in the checkpoint; an error when transformers had to
    create it (it would predict from random weights). ``instead`` says what to use otherwise."""
    from transformers import AutoModelForMaskedLM

    model, info = load_pretrained(AutoModelForMaskedLM, name, what, output_loading_info=True,
                                  hint="give a local directory with config.json, weights and tokenizer files")
    head = {n for n in MLM_HEADS if hasattr(model, n)}
    missing = [k for k in info.get("missing_keys", ()) if k.split(".", 1)[0] in head]
    if missing:
        raise ConfigError(
            f"{what} {name!r} has no trained masked-LM head (its checkpoint lacks {', '.join(sorted(missing)[:3])}"
            f"{'…' if len(missing) > 3 else ''}): transformers would predict from random weights; {instead}")
    return model


def weights_errors() -> tuple[type[BaseException], ...]:
    """What a damaged or foreign weights file raises besides ``OSError`` / ``ValueError``.

    Truncated or random bytes: ``SafetensorError`` (.safetensors), ``EOFError`` / ``RuntimeError``
    (torch files); a pickle with arbitrary objects refused by ``weights_only=True``: ``UnpicklingError``.
    """
    import pickle

    from safetensors import SafetensorError

    return (SafetensorError, pickle.UnpicklingError, EOFError)


def load_error_reason(exc: BaseException) -> str:
    """A one-line reason for a failed load, with a hint when the file itself is damaged."""
    import pickle

    if isinstance(exc, pickle.UnpicklingError):
        return ("UnpicklingError: it holds Python objects, not only tensors, and was refused "
                "(torch.load weights_only=True); re-save it with safetensors or from a trusted source")
    lines = str(exc).splitlines() or ["the file is empty or cut short"]
    reason = f"{type(exc).__name__}: {lines[0]}"
    if isinstance(exc, weights_errors()):
        reason += "; the weights file is damaged or incomplete: copy or save it again"
    return reason
