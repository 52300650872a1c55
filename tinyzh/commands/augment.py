"""``tinyzh augment``: not implemented yet."""

from __future__ import annotations

from tinyzh.errors import NotYetAvailable


def augment() -> None:
    """(not yet available)"""
    raise NotYetAvailable("`tinyzh augment` is not yet available in this version of tinyzh")
