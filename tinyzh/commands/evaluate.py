"""``tinyzh eval``: not implemented yet."""

from __future__ import annotations

from tinyzh.errors import NotYetAvailable


def evaluate() -> None:
    """(not yet available)"""
    raise NotYetAvailable("`tinyzh eval` is not yet available in this version of tinyzh")
