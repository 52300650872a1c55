"""Small shared helpers around transformers' own logging.

tinyzh draws its own rich progress bars and reports, so transformers' load reports ("some weights
were not used", which are intended when an MLM checkpoint is loaded as a bare encoder or a general
student gets a new classification head) and its tqdm bars only alarm. ``-vv`` keeps them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


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
