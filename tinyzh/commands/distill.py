"""``tinyzh distill``: not implemented yet."""

from __future__ import annotations

from tinyzh.errors import NotYetAvailable


def distill() -> None:
    """(not yet available)"""
    raise NotYetAvailable("`tinyzh distill` is not yet available in this version of tinyzh")
