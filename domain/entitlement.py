"""What the gates must know about a card: one entitlement per plate, with absolute dates.

Absolute dates (and the pause window, the grace end, the plate inside) let a
gate decide offline and make a replayed message harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from domain.card import Card, CardState
from domain.gate import CARD, Grant
from domain.lot import Lot


@dataclass(frozen=True)
class Entitlement:
    """What a gate must do for one plate from now on."""

    lot_id: str
    plate: str
    card_id: str
    valid_from: date | None
    valid_until: date | None
    state: CardState
    issued_at: datetime
    paused_from: date | None = None
    paused_until: date | None = None
    """Inclusive; gates deny the card on the days between."""
    grace_until: date | None = None
    """Gates still open through this day after `valid_until` (the lot's grace days)."""
    inside: str | None = None
    """Another plate of the card inside: this one waits until it leaves."""
    epoch: str = ""
    """The lot's feed epoch (Lot.feed_epoch) the change belongs to."""
    kind: str = CARD
    """A card's plate, or an exempt or blacklisted plate, or a paid visit (domain.gate's kinds)."""
    leave_by: datetime | None = None
    """A paid visit: its car may leave until then."""

    def grant(self, version: int) -> Grant:
        """This news as version `version` of its lot's feed: what the feed stores and gates receive."""
        return Grant(
            lot_id=self.lot_id,
            version=version,
            plate=self.plate,
            card_id=self.card_id,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            state=self.state.value,
            issued_at=self.issued_at.isoformat(),
            paused_from=self.paused_from,
            paused_until=self.paused_until,
            grace_until=self.grace_until,
            inside=self.inside,
            epoch=self.epoch,
            kind=self.kind,
            leave_by=self.leave_by.isoformat() if self.leave_by else None,
        )


def entitlements_of(card: Card, lot: Lot, at: datetime) -> tuple[Entitlement, ...]:
    """What every gate of the lot must now do for each of the card's plates."""
    pause = card.gate_pause()
    grace = lot.cards.grace_days
    return tuple(
        Entitlement(
            lot_id=card.lot_id,
            plate=plate,
            card_id=card.id,
            valid_from=card.valid_from,
            valid_until=card.valid_until,
            state=card.state,
            issued_at=at,
            paused_from=pause.starts if pause else None,
            paused_until=pause.until if pause else None,
            grace_until=card.valid_until + timedelta(days=grace) if grace and card.valid_until else None,
            inside=card.inside if len(card.plates) > 1 else None,
            epoch=lot.feed_epoch,
        )
        for plate in card.plates
    )


def revoked(card: Card, plate: str, at: datetime, epoch: str = "") -> Entitlement:
    """A plate taken off the card: gates forget it."""
    return Entitlement(card.lot_id, plate, card.id, None, None, CardState.CANCELLED, at, epoch=epoch)


def news_between(before: Card, after: Card, lot: Lot, at: datetime) -> tuple[Entitlement, ...]:
    """Only what a gate would decide differently: plates whose terms changed, and plates taken off."""
    was = {e.plate: replace(e, issued_at=at) for e in entitlements_of(before, lot, at)}
    now = entitlements_of(after, lot, at)
    changed = tuple(e for e in now if was.get(e.plate) != e)
    dropped = tuple(revoked(after, plate, at, lot.feed_epoch) for plate in before.plates if plate not in after.plates)
    return changed + dropped
