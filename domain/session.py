"""A login's session: the family of refresh tokens one login starts.

Each refresh answers the next generation and retires the one used, so a refresh token works once. A retired
one presented again means two parties hold the same token (a copy was stolen, or a client replayed it): the
whole family ends, so neither the thief's nor the owner's later refreshes work, and the owner logs in again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Ending(StrEnum):
    LOGOUT = "logout"
    REUSE = "reuse"


@dataclass(frozen=True)
class Session:
    id: str
    subject: str
    """Whose session it is (an owner id)."""
    generation: int = 0
    """Only the refresh token of this generation may refresh; each refresh moves it on by one."""
    ended: Ending | None = None


class Verdict(StrEnum):
    ROTATE = "rotate"
    """The current token: answer the next generation (if the move still holds when written)."""
    ENDED = "ended"
    """The session ended (logged out, or ended as a reuse before) or is not this subject's."""
    REUSED = "reused"
    """A retired token: end the family, and say so on the security log."""


def refresh_verdict(session: Session | None, subject: str, generation: int) -> Verdict:
    if session is None or session.subject != subject or session.ended is not None:
        return Verdict.ENDED
    if generation != session.generation:
        return Verdict.REUSED
    return Verdict.ROTATE
