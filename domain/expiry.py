"""Cards that ran out: an active card past its end becomes expired; an approved card never paid for lapses."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

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
