"""The owner's own cards. Another owner's card does not exist, as far as the answer shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.card import Card, CardState, Pause
from domain.errors import CardNotFound
from domain.ids import checked_id
from domain.lot import Lot
from handlers.claim_cards import Claiming, claim_waiting_cards
from handlers.ports import CardRepository, Clock, LotRepository, OwnerRepository


@dataclass(frozen=True)
class CardView:
    card: Card
    lot: Lot
    state: CardState
    """As of today in the lot: an active card past its end reads expired."""
    days_left: int
    pause: Pause | None
    """The pause still waiting, to come or running today."""


def list_my_cards(owner_id: str, cards: CardRepository, lots: LotRepository, clock: Clock) -> list[CardView]:
    mine = cards.list_for_owner(owner_id)
    lots_by_id = lots.get_many({c.lot_id for c in mine}) if mine else {}
    now = clock.now()
    return [_view(c, lots_by_id[c.lot_id], lots_by_id[c.lot_id].today(now)) for c in mine if c.lot_id in lots_by_id]


def list_my_cards_claiming(owner_id: str, owners: OwnerRepository, claiming: Claiming) -> list[CardView]:
    """The owner's cards, after claiming those the office imported with their phone since they last looked
    (best effort: a claim that fails now is made next time). A card just claimed is listed even if the
    owners' index has not caught up yet."""
    claimed = {c.id: c for c in claim_waiting_cards(owner_id, owners, claiming)}
    views = list_my_cards(owner_id, claiming.cards, claiming.lots, claiming.clock)
    listed = {v.card.id for v in views}
    return views + [card_view(c, claiming.lots, claiming.clock) for c in claimed.values() if c.id not in listed]


def get_my_card(owner_id: str, card_id: str, cards: CardRepository, lots: LotRepository, clock: Clock) -> CardView:
    card = cards.get(checked_id("card_id", card_id))
    if card is None or card.owner_id != owner_id:
        raise CardNotFound(card_id)
    lot = lots.get(card.lot_id)
    if lot is None:
        raise CardNotFound(card_id)
    return _view(card, lot, lot.today(clock.now()))


def _view(card: Card, lot: Lot, today: date) -> CardView:
    return CardView(card, lot, card.state_on(today), card.days_left(today), card.open_pause(today))


def card_view(card: Card, lots: LotRepository, clock: Clock) -> CardView:
    """How a card just changed reads today."""
    lot = lots.get(card.lot_id)
    if lot is None:
        raise CardNotFound(card.id)
    return _view(card, lot, lot.today(clock.now()))
