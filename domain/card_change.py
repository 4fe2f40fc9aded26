"""One change to a card, as it is committed: the card before and after, what the gates
and the reminders must learn, and the audit entry saying who did it and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.card import Card, CardState
from domain.entitlement import Entitlement, entitlements_of, news_between
from domain.errors import PlateTaken, StaleCard, UnpaidOrderExists
from domain.lot import Lot
from domain.plan import Absent, CardWrite, Claim, Holder, LotMove, Plan, Release, Take, holds_place
from domain.reminder import Slot, slots_for


@dataclass(frozen=True)
class AuditEntry:
    subject: str
    """What changed: `card:<id>`, `application:<id>`."""
    entry: str
    """Unique within the subject and sorting in order: a card's by its version (`v000003#<at>`: a payment's time
    comes from the provider, in whole seconds), others by time (`<at>#<what>`)."""
    at: datetime
    actor: str
    """Who: `owner:<id>`, `admin:<id>`, `gate:<id>`, `system`."""
    action: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def card_plan(
    before: Card | None,
    after: Card,
    lot: Lot,
    at: datetime,
    actor: str,
    action: str,
    reason: str | None = None,
    *,
    claims_from: Holder | None = None,
    override_quota: bool = False,
) -> Plan:
    """Everything a card's change writes, with the conditions that keep the lot's invariants.

    I1: a card that starts or stops holding a place moves the lot's `held` (taking one
    only while `held < quota`, unless the office overrides it, audited). I2: the plates
    of a card that holds a place are claimed in the lot (taken over from `claims_from`,
    e.g. the application they came from), and released when it stops. I3: the gates'
    news take the lot's next feed versions. I4: the reminders follow the new end; those
    of the old end that are not yet due go. I5: the audit entry. A card that stops
    holding its place never does so under an order still waiting for payment.
    """
    holder = Holder("card_id", after.id)
    had = set(before.plates) if before is not None and holds_place(before) else set()
    keeps = set(after.plates) if holds_place(after) else set()
    takes = tuple(
        Take(
            Claim(plate_claim(after.lot_id, p), after.owner_id, after.id, _application_of(claims_from)),
            PlateTaken(p),
            claims_from or holder,
        )
        for p in after.plates
        if p in keeps - had
    )
    releases = tuple(Release(plate_claim(after.lot_id, p), holder, StaleCard(after.id)) for p in sorted(had - keeps))
    held = int(holds_place(after)) - int(before is not None and holds_place(before))
    absent = (Absent(unpaid_claim(after.id), UnpaidOrderExists("?")),) if held < 0 else ()
    if before is None:
        news = _first_news(after, lot, at)
    elif holds_place(before) or holds_place(after):
        news = news_between(before, after, lot, at)
    else:  # a card out of the lot already: its plates may be another card's now, the gates must not hear of it
        news = ()
    moved = (
        before is None
        or after.valid_until != before.valid_until
        or after.state != before.state
        or after.owner_id != before.owner_id  # a claimed card's reminders go to its owner
    )
    reminders, dropped = reminders_moving(before, after, lot, at) if moved else ((), ())
    feed_at = lot.entitlement_version if news else None
    moves_lot = news or held
    return Plan(
        cards=(CardWrite(after, before.version if before is not None else None),),
        lot=LotMove(lot.id, feed_at, held, within_quota=not override_quota) if moves_lot else None,
        events=news,
        takes=takes,
        releases=releases,
        absent=absent,
        reminders=reminders,
        dropped_reminders=dropped,
        audit=(card_audit(before, after, at, actor, action, reason),),
    )


def reminders_moving(
    before: Card | None, after: Card, lot: Lot, at: datetime
) -> tuple[tuple[Slot, ...], tuple[Slot, ...]]:
    """I4: the reminders of the card's new end, and those of an old end not yet due (to delete).

    A card that expires keeps its end, so the reminders of its grace days stay.
    """
    now = tuple(slots_for(after, lot))
    keys = {s.key for s in now}
    old = slots_for(before, lot) if before is not None else []
    keeps_end = after.valid_until == (before.valid_until if before else None) and after.state is not CardState.CANCELLED
    return now, tuple(s for s in old if s.key not in keys and s.due_at > at and not keeps_end)


def _first_news(card: Card, lot: Lot, at: datetime) -> tuple[Entitlement, ...]:
    """A new card tells the gates only once it admits someone (a pending card has no dates yet)."""
    return entitlements_of(card, lot, at) if card.valid_until is not None else ()


def _application_of(holder: Holder | None) -> str | None:
    return holder.value if holder is not None and holder.field == "application_id" else None


def plate_claim(lot_id: str, plate: str) -> str:
    """Inside one lot a plate is held by one card or open application at a time."""
    return f"plate:{lot_id}:{plate}"


def unpaid_claim(card_id: str) -> str:
    """A card has at most one online order waiting for payment."""
    return f"unpaid:{card_id}"


def card_audit(
    before: Card | None, after: Card, at: datetime, actor: str, action: str, reason: str | None
) -> AuditEntry:
    """The card's audit entry; keyed by its new version, so one change is one entry (I5: entries = version)."""
    return AuditEntry(
        f"card:{after.id}",
        f"v{(before.version if before is not None else 0) + 1:06d}#{entry_time(at)}",
        at,
        actor,
        action,
        reason,
        card_record(before) if before is not None else None,
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
