"""What a gate decides, offline: its whitelist, applied by version, and allow/deny for a plate.

A gate keeps one entry per plate with absolute dates, so it enforces expiry
itself with no message from the cloud, and applies changes strictly in the
lot's version order: an old or repeated message changes nothing, and a gap
means a message was missed and must be filled by a delta sync first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

NEAR_EXPIRY_DAYS = 5


@dataclass(frozen=True)
class Grant:
    """One version of a lot's gate feed: what a gate must do for one plate from then on."""

    lot_id: str
    version: int
    plate: str
    card_id: str
    valid_from: date | None
    valid_until: date | None
    state: str
    issued_at: str = ""

    def fields(self) -> dict[str, Any]:
        """The message's fields, as signed and sent."""
        return {
            "lot_id": self.lot_id,
            "version": self.version,
            "plate": self.plate,
            "card_id": self.card_id,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "state": self.state,
            "issued_at": self.issued_at,
        }


class Applied(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    """Already had this version or a later one: ignored."""
    GAP = "gap"
    """Versions are missing before this one: sync first, then apply."""


class Reason(StrEnum):
    UNKNOWN = "unknown"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    PAUSED = "paused"
    REVOKED = "revoked"
    OUTSIDE_TIME_WINDOW = "outside_time_window"


@dataclass(frozen=True)
class Decision:
    allow: bool
    reason: Reason | None = None
    valid_until: date | None = None
    days_left: int | None = None
    warning: str | None = None


@dataclass
class Whitelist:
    lot_id: str
    version: int = 0
    entries: dict[str, Grant] = field(default_factory=dict)

    def apply(self, grant: Grant) -> Applied:
        if grant.lot_id != self.lot_id:
            raise ValueError("a grant for another lot")
        if grant.version <= self.version:
            return Applied.STALE
        if grant.version > self.version + 1:
            return Applied.GAP
        self.entries[grant.plate] = grant
        self.version = grant.version
        return Applied.APPLIED

    def replace_all(self, grants: list[Grant], version: int) -> None:
        """Take a full snapshot as the new state (after a long time offline)."""
        self.entries = {g.plate: g for g in grants}
        self.version = version

    def check(self, plate: str, today: date) -> Decision:
        grant = self.entries.get(plate)
        if grant is None:
            return Decision(False, Reason.UNKNOWN)
        if grant.state in ("cancelled", "pending") or grant.valid_until is None:
            return Decision(False, Reason.REVOKED)
        if grant.state == "paused":
            return Decision(False, Reason.PAUSED, grant.valid_until)
        if grant.valid_from is not None and today < grant.valid_from:
            return Decision(False, Reason.NOT_YET_VALID, grant.valid_until)
        if today > grant.valid_until:
            return Decision(False, Reason.EXPIRED, grant.valid_until)
        days_left = (grant.valid_until - today).days + 1
        warning = (
            f"card ends in {days_left} day(s): renew in the mini-program" if days_left <= NEAR_EXPIRY_DAYS else None
        )
        return Decision(True, None, grant.valid_until, days_left, warning)
