"""``tinyzh pregen``: not implemented yet."""

from __future__ import annotations

from tinyzh.errors import NotYetAvailable


def pregen() -> None:
    """(not yet available)"""
    raise NotYetAvailable("`tinyzh pregen` is not yet available in this version of tinyzh")
