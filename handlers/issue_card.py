"""Issuing a card the property already sold (the demo's seed, an office entering one by hand).

The card takes a place as an explicit, audited override: it exists at the
property whatever the quota says; its plates are claimed and the gates learn it.
"""

from __future__ import annotations

from domain.card import Card
from domain.card_change import card_plan
from domain.errors import CardExists, Conflict, LotNotFound, StaleLot
from handlers.ports import Clock, LotRepository, UnitOfWork
from handlers.retry import MAX_ATTEMPTS, wait_before_retry


def issue_card(card: Card, actor: str, reason: str, lots: LotRepository, uow: UnitOfWork, clock: Clock) -> bool:
    """True when issued; False when the card exists already. PlateTaken when a plate is on another card."""
    for attempt in range(MAX_ATTEMPTS):
        lot = lots.get(card.lot_id)
        if lot is None:
            raise LotNotFound(card.lot_id)
        try:
            uow.commit(card_plan(None, card, lot, clock.now(), actor, "issue", reason, override_quota=True))
        except CardExists:
            return False
        except StaleLot:
            wait_before_retry(attempt)
            continue
        return True
    raise Conflict("kept_changing")
