"""Cards that ran out: an active card past its end becomes expired; an approved card never paid for lapses."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from domain.card import Card, CardState


def expired(card: Card, today: date) -> Card | None:
    """The card marked expired, if it is active and ended before `today` (lot-local); None otherwise."""
    if card.state is CardState.ACTIVE and card.valid_until is not None and card.valid_until < today:
        return replace(card, state=CardState.EXPIRED)
    return None


def lapsed(card: Card, today: date) -> Card | None:
    """The card cancelled, if it was approved but not paid for by its pay-by day; None otherwise."""
    if card.state is CardState.PENDING and card.pay_by is not None and card.pay_by < today:
        return replace(card, state=CardState.CANCELLED, pay_by=None)
    return None


def cancelled(card: Card) -> Card:
    """The card cancelled by the office: it admits nobody from now on and gives its place back."""
    if card.state is CardState.CANCELLED:
        return card
    return replace(card, state=CardState.CANCELLED, pay_by=None, inside=None)


def restored(card: Card, today: date, pay_within_days: int) -> Card:
    """A cancelled card brought back by the office: as its dates say (active, expired, or pending if never paid;
    then to be paid for within the lot's days, or it lapses again)."""
    if card.state is not CardState.CANCELLED:
        return card
    if card.valid_until is None:
        return replace(card, state=CardState.PENDING, pay_by=today + timedelta(days=pay_within_days))
    return replace(card, state=CardState.ACTIVE if card.valid_until >= today else CardState.EXPIRED)


def fixed(card: Card, valid_until: date | None, holder: str | None, today: date) -> Card:
    """The office's fix of a card's end date or holder; an expired card given days again is active again."""
    after = card
    if valid_until is not None:
        after = replace(after, valid_until=valid_until, valid_from=after.valid_from or today)
        if after.state in (CardState.EXPIRED, CardState.PENDING) and valid_until >= today:
            after = replace(after, state=CardState.ACTIVE, pay_by=None)
        elif after.state is CardState.ACTIVE and valid_until < today:
            after = replace(after, state=CardState.EXPIRED)
    if holder is not None:
        after = replace(after, holder=holder.strip()[:50] or None)
    return after
