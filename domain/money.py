"""Money is integer fen (分). Yuan appear only as exact text for people to read."""

from __future__ import annotations


def yuan_text(fen: int) -> str:
    """30000 -> '300.00'; exact, no float ever involved."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
