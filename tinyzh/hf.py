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
