"""One change to a card, as it is committed: the card before and after, what the gates
and the reminders must learn, and the audit entry saying who did it and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.card import Card, CardState
from domain.entitlement import Entitlement, news_between
from domain.lot import Lot
from domain.reminder import Slot, slots_for


@dataclass(frozen=True)
class AuditEntry:
    subject: str
    """What changed: `card:<id>`, `application:<id>`."""
    entry: str
    """Unique within the subject and sorting in time: `<at>#<what>`."""
    at: datetime
    actor: str
    """Who: `owner:<id>`, `admin:<id>`, `gate:<id>`, `system`."""
    action: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class CardChange:
    before: Card
    after: Card
    news: tuple[Entitlement, ...]
    reminders: tuple[Slot, ...]
    audit: AuditEntry
    frees_place: bool
    """The card left the lot's quota (cancelled): the lot holds one card fewer."""

    @property
    def changed(self) -> bool:
        return self.before != self.after


def card_change(
    before: Card, after: Card, lot: Lot, at: datetime, actor: str, action: str, reason: str | None = None
) -> CardChange:
    moved = after.valid_until != before.valid_until or (after.state != before.state)
    return CardChange(
        before=before,
        after=after,
        news=news_between(before, after, lot, at),
        reminders=tuple(slots_for(after, lot)) if moved else (),
        audit=card_audit(before, after, at, actor, action, reason),
        frees_place=after.state is CardState.CANCELLED and before.state is not CardState.CANCELLED,
    )


def card_audit(before: Card, after: Card, at: datetime, actor: str, action: str, reason: str | None) -> AuditEntry:
    """The card's audit entry; keyed by its new version, so one change is one entry."""
    return AuditEntry(
        f"card:{after.id}",
        f"{entry_time(at)}#v{before.version + 1:06d}",
        at,
        actor,
        action,
        reason,
        card_record(before),
        card_record(after),
    )


def entry_time(at: datetime) -> str:
    """UTC with microseconds: audit entries of one subject sort by time whatever zone the clock gave."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def card_record(card: Card) -> dict[str, Any]:
    """The card as the audit log keeps it (JSON-ready)."""
    return {
        "plates": list(card.plates),
        "valid_from": card.valid_from.isoformat() if card.valid_from else None,
        "valid_until": card.valid_until.isoformat() if card.valid_until else None,
        "state": card.state.value,
        "pauses": [
            {"id": p.id, "starts": p.starts.isoformat(), "until": p.until.isoformat(), "state": p.state.value}
            for p in card.pauses
        ],
        "inside": card.inside,
    }
