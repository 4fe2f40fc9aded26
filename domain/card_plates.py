"""The plates on a card: swapping one, adding one where the lot allows several, and which one is inside.

A card with several plates (一位多车) is one space: only one of its cars may be
inside at a time. Gates report entries and exits; the card remembers the plate
inside and every gate learns it through the feed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum

from domain.card import Card, CardState
from domain.errors import PlateChangeRefused
from domain.lot import Lot


def swap_plate(card: Card, lot: Lot, old: str, new: str, today: date) -> Card:
    allowance = lot.cards.plate_changes_per_month
    if allowance == 0:
        raise PlateChangeRefused("plate_change_office", lot=lot.name)
    _changeable(card)
    _paid_for(card)
    if old not in card.plates:
        raise PlateChangeRefused("plate_not_on_card", plate=old)
    if new in card.plates:
        raise PlateChangeRefused("plate_already_on_card", plate=new)
    this_month = [d for d in card.plate_changes if (d.year, d.month) == (today.year, today.month)]
    if len(this_month) >= allowance:
        raise PlateChangeRefused("plate_changes_used", lot=lot.name, allowance=allowance)
    plates = tuple(new if p == old else p for p in card.plates)
    recent = tuple(d for d in card.plate_changes if (today - d).days < 62)  # older ones never count again
    return replace(
        card, plates=plates, inside=None if card.inside == old else card.inside, plate_changes=(*recent, today)
    )


def add_plate(card: Card, lot: Lot, plate: str) -> Card:
    _changeable(card)
    _paid_for(card)
    if plate in card.plates:
        return card
    if len(card.plates) >= lot.cards.max_plates:
        raise PlateChangeRefused("too_many_plates", lot=lot.name, most=lot.cards.max_plates)
    return replace(card, plates=(*card.plates, plate))


def remove_plate(card: Card, plate: str) -> Card:
    _changeable(card)
    if plate not in card.plates:
        return card
    if len(card.plates) == 1:
        raise PlateChangeRefused("last_plate")
    return replace(
        card, plates=tuple(p for p in card.plates if p != plate), inside=None if card.inside == plate else card.inside
    )


def _changeable(card: Card) -> None:
    if card.state is CardState.CANCELLED:
        raise PlateChangeRefused("card_cancelled")


def _paid_for(card: Card) -> None:
    """A card nobody has paid for yet (one click of an automatic approval) takes no further plates: else any
    WeChat user could try plates on it to learn which are held, and hold free ones from their owners."""
    if card.state is CardState.PENDING:
        raise PlateChangeRefused("plate_change_unpaid")


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


def passed(card: Card, plate: str, direction: Direction, at: datetime) -> Card:
    """The card after a gate let `plate` in or out at `at`; reports older than the last one change nothing."""
    if len(card.plates) < 2 or plate not in card.plates:
        return card  # one plate, one car: nothing for other gates to hold back
    if card.inside_since is not None and at <= card.inside_since:
        return card
    if direction is Direction.IN:
        return card if card.inside == plate else replace(card, inside=plate, inside_since=at)
    if card.inside != plate:
        return card
    return replace(card, inside=None, inside_since=at)
