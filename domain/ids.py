"""Identifier shapes. An id that cannot exist is refused before any lookup."""

from __future__ import annotations

import re

from domain.errors import InvalidId

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def checked_id(kind: str, value: str) -> str:
    """Return `value` if it has the shape of an id, else raise InvalidId naming `kind`."""
    if not _ID.fullmatch(value):
        raise InvalidId("invalid_id", kind=kind)
    return value
