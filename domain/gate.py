"""What a gate decides, offline: its whitelist, applied by version, and allow/deny for a plate.

A gate keeps one entry per plate with absolute dates, so it enforces expiry
itself with no message from the cloud, and applies changes strictly in the
lot's version order: an old or repeated message changes nothing, and a gap
means a message was missed and must be filled by a delta sync first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

NEAR_EXPIRY_DAYS = 5
CARD = "card"
EXEMPT = "exempt"
GUEST = "guest"
BLACKLISTED = "blacklisted"
VISIT = "visit"


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
    paused_from: date | None = None
    paused_until: date | None = None
    grace_until: date | None = None
    inside: str | None = None
    """Another plate of the same card that is inside now."""
    epoch: str = ""
    """The lot's feed epoch: versions count within one epoch only."""
    order_id: str | None = None
    """The order whose payment or refund made this change: kept with the event for the logs, never sent."""
    kind: str = CARD
    """What the grant is about: a card's plate (`card`), or an exempt or blacklisted plate, or a visit paid
    (`visit`: open the exit for the plate until `leave_by`). Kept apart per kind: one plate may have several."""
    leave_by: str | None = None
    """A paid visit's car may leave until then (ISO time)."""

    @property
    def key(self) -> str:
        """Where a whitelist keeps it: a card's grant by its plate, any other by kind and plate."""
        return self.plate if self.kind == CARD else f"{self.kind}:{self.plate}"

    def fields(self) -> dict[str, Any]:
        """The message's fields, as signed and sent (`epoch` only when there is one, `kind` and `leave_by` only
        for what is not a card: a card's message of a lot from before reads and verifies as before)."""
        other = {"kind": self.kind, "leave_by": self.leave_by} if self.kind != CARD else {}
        return (
            ({"epoch": self.epoch} if self.epoch else {})
            | other
            | {
                "lot_id": self.lot_id,
                "version": self.version,
                "plate": self.plate,
                "card_id": self.card_id,
                "valid_from": _text(self.valid_from),
                "valid_until": _text(self.valid_until),
                "state": self.state,
                "issued_at": self.issued_at,
                "paused_from": _text(self.paused_from),
                "paused_until": _text(self.paused_until),
                "grace_until": _text(self.grace_until),
                "inside": self.inside,
            }
        )

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Grant:
        """The inverse of `fields` (KeyError or ValueError when one is missing or malformed)."""
        return cls(
            lot_id=str(fields["lot_id"]),
            version=int(fields["version"]),
            plate=str(fields["plate"]),
            card_id=str(fields["card_id"]),
            valid_from=_day(fields.get("valid_from")),
            valid_until=_day(fields.get("valid_until")),
            state=str(fields["state"]),
            issued_at=str(fields.get("issued_at") or ""),
            paused_from=_day(fields.get("paused_from")),
            paused_until=_day(fields.get("paused_until")),
            grace_until=_day(fields.get("grace_until")),
            inside=str(fields["inside"]) if fields.get("inside") else None,
            epoch=str(fields.get("epoch") or ""),
            kind=str(fields.get("kind") or CARD),
            leave_by=str(fields["leave_by"]) if fields.get("leave_by") else None,
        )


def _within(day: date, first: date | None, last: date | None) -> bool:
    return first is not None and last is not None and first <= day <= last


def _text(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(text: Any) -> date | None:
    return date.fromisoformat(str(text)) if text else None


class Applied(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    """Already had this version or a later one: ignored."""
    GAP = "gap"
    """Versions are missing before this one: sync first, then apply."""
    NEW_FEED = "new_feed"
    """Another feed epoch than the one held: the lot's feed started again; take a fresh snapshot."""


class Reason(StrEnum):
    UNKNOWN = "unknown"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    PAUSED = "paused"
    REVOKED = "revoked"
    OUTSIDE_TIME_WINDOW = "outside_time_window"
    OCCUPIED = "occupied"
    """Another car of the same card is inside."""


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
    epoch: str = ""
    """The feed epoch `version` counts in ("" before the first grant, or a lot from before epochs)."""

    def apply(self, grant: Grant) -> Applied:
        if grant.lot_id != self.lot_id:
            raise ValueError("a grant for another lot")
        if self.version > 0 and grant.epoch != self.epoch:
            return Applied.NEW_FEED
        if grant.version <= self.version:
            return Applied.STALE
        if grant.version > self.version + 1:
            return Applied.GAP
        self.entries[grant.key] = grant
        self.version = grant.version
        self.epoch = grant.epoch
        return Applied.APPLIED

    def note_passage(self, plate: str, entering: bool) -> list[Grant]:
        """This gate let `plate` in (or out): hold the card's other plates back at once, before the cloud's
        feed says so to every gate. Answers the grants it changed (the version stays the feed's)."""
        grant = self.entries.get(plate)
        if grant is None:
            return []
        inside = plate if entering else None
        same_card = [g for g in self.entries.values() if g.card_id == grant.card_id and g.kind == CARD]
        if len(same_card) < 2 or (not entering and grant.inside != plate):
            return []
        changed = [replace(g, inside=inside) for g in same_card if g.inside != inside]
        for g in changed:
            self.entries[g.plate] = g
        return changed

    def replace_all(self, grants: list[Grant], version: int, epoch: str = "") -> None:
        """Take a full snapshot as the new state (after a long time offline, or of a new feed epoch)."""
        self.entries = {g.key: g for g in grants}
        self.version = version
        self.epoch = epoch

    def check(self, plate: str, today: date) -> Decision:
        grant = self.entries.get(plate)
        if grant is None:
            return Decision(False, Reason.UNKNOWN)
        if grant.state in ("cancelled", "pending") or grant.valid_until is None:
            return Decision(False, Reason.REVOKED)
        if grant.state == "paused" or _within(today, grant.paused_from, grant.paused_until):
            return Decision(False, Reason.PAUSED, grant.valid_until)
        if grant.valid_from is not None and today < grant.valid_from:
            return Decision(False, Reason.NOT_YET_VALID, grant.valid_until)
        if grant.inside is not None and grant.inside != plate:
            return Decision(False, Reason.OCCUPIED, grant.valid_until)
        if today > grant.valid_until:
            if grant.grace_until is not None and today <= grant.grace_until:
                grace = f"card ended on {grant.valid_until.isoformat()}: open until {grant.grace_until.isoformat()}"
                return Decision(True, None, grant.valid_until, 0, grace)
            return Decision(False, Reason.EXPIRED, grant.valid_until)
        days_left = (grant.valid_until - today).days + 1
        warning = (
            f"card ends in {days_left} day(s): renew in the mini-program" if days_left <= NEAR_EXPIRY_DAYS else None
        )
        return Decision(True, None, grant.valid_until, days_left, warning)


@dataclass(frozen=True)
class OfflineAnswer:
    """What a gate decides at the barrier with no cloud: the answer's fields of `POST /gates/passages`."""

    allow: bool
    kind: str
    display: str


def decide_offline(whitelist: Whitelist, plate: str, entering: bool, today: date, now: datetime) -> OfflineAnswer:
    """A blacklisted plate stays out; an exempt plate, a card valid today and a paid visit within its leave window
    pass; a visitor comes in (the gate cannot count free spaces alone) and goes out, its fee owed: the passage is
    reported when the cloud is back and the fee waits for the car's next visit."""

    def holds(kind: str) -> bool:
        g = whitelist.entries.get(f"{kind}:{plate}")
        return (
            g is not None and g.state == "active" and (g.valid_from is None or g.valid_from <= today)
            and (g.valid_until is None or today <= g.valid_until)
        )  # fmt: skip

    if holds(BLACKLISTED):
        return OfflineAnswer(False, BLACKLISTED, f"{plate} 禁止通行 请联系物业")
    if holds(EXEMPT) or holds(GUEST):
        return OfflineAnswer(True, EXEMPT, f"{plate} 欢迎光临" if entering else f"{plate} 一路顺风")
    card = whitelist.check(plate, today)
    if card.allow:
        left = f"{plate} 月卡剩余{card.days_left - 1}天" if card.days_left else f"{plate} 月卡宽限期"
        return OfflineAnswer(True, CARD, left if entering else f"{plate} 一路顺风")
    if entering:
        return OfflineAnswer(True, "visitor", f"{plate} 临时车 欢迎光临")
    paid = whitelist.entries.get(f"{VISIT}:{plate}")
    if paid is not None and paid.leave_by and datetime.fromisoformat(paid.leave_by) >= now:
        return OfflineAnswer(True, "visitor", f"{plate} 一路顺风")
    return OfflineAnswer(True, "visitor", f"{plate} 临时车 停车费待补缴")
