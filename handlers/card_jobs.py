"""The card jobs (daily, and on every tick): expire cards past their end, lapse approvals never paid for,
and offer the places that freed up to the waitlist."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.application import ApplicationState, application_id_of
from domain.card import Card, CardState
from domain.card_change import CardChange, card_change
from domain.errors import Conflict, StaleCard, StaleLot, UnpaidOrderExists
from domain.expiry import cancelled, expired, lapsed
from domain.lot import Lot
from handlers.applications import ApplicationStore, offer_free_places
from handlers.card_changes import CardChangeStore, change_card
from handlers.notify import Notices
from handlers.ports import CardRepository, Clock, LotRepository
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

SYSTEM = "system"
AHEAD = timedelta(hours=14)
"""The furthest time zone is UTC+14: no lot's today is later than the UTC date of now + 14 h."""
log = logging.getLogger("parkpass.card_jobs")


@dataclass
class JobReport:
    expired: list[str] = field(default_factory=list)
    lapsed: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)
    """Applications that got a freed place."""


def run_card_jobs(
    cards: CardRepository,
    lots: LotRepository,
    store: CardChangeStore,
    applications: ApplicationStore,
    clock: Clock,
    notices: Notices,
) -> JobReport:
    report = JobReport()
    latest = (clock.now() + AHEAD).date()
    for card in store.ended_before(latest):
        lot = lots.get(card.lot_id)
        if lot is None or expired(card, lot.today(clock.now())) is None:
            continue  # not yet over where the lot is
        after = change_card(
            card.id, lambda c, _, today: expired(c, today) or c, SYSTEM, "expire", cards, lots, store, clock
        )
        if after.state is not card.state:
            report.expired.append(card.id)
    freed: set[str] = set()
    for card in store.unpaid_before(latest):
        if _lapse(card, cards, lots, store, applications, clock):
            report.lapsed.append(card.id)
            freed.add(card.lot_id)
    for lot_id in sorted(freed):
        report.offered += [a.id for a in offer_free_places(lot_id, lots, applications, clock, notices)]
    return report


def cancel_card(
    card_id: str,
    actor: str,
    reason: str,
    cards: CardRepository,
    lots: LotRepository,
    store: CardChangeStore,
    applications: ApplicationStore,
    clock: Clock,
    notices: Notices,
) -> Card:
    """The office cancels a card (the admin function calls this): its place goes to the first in line."""
    if not reason.strip():
        raise Conflict("say why: the card's history keeps the reason")
    before = cards.get(card_id)
    card = change_card(
        card_id, lambda c, _, __: cancelled(c), actor, "cancel", cards, lots, store, clock, reason=reason
    )
    if before is not None and before.state is not CardState.CANCELLED:
        offer_free_places(card.lot_id, lots, applications, clock, notices)
    return card


def _lapse(
    card: Card,
    cards: CardRepository,
    lots: LotRepository,
    store: CardChangeStore,
    applications: ApplicationStore,
    clock: Clock,
) -> bool:
    for attempt in range(MAX_ATTEMPTS):
        current, lot = cards.get(card.id), lots.get(card.lot_id)
        if current is None or lot is None:
            return False
        now = clock.now()
        after = lapsed(current, lot.today(now))
        if after is None:
            return False
        application_id = application_id_of(current)
        application = applications.get(application_id) if application_id else None
        gone = (
            replace(application, state=ApplicationState.LAPSED)
            if application and application.state is ApplicationState.APPROVED
            else None
        )
        try:
            store.commit(_lapse_change(current, after, lot, now), lot.entitlement_version, gone)
        except UnpaidOrderExists:
            log.info("card %s has an order waiting for payment; it lapses once that closes", card.id)
            return False
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)
            continue
        return True
    raise Conflict(f"card {card.id} kept changing while lapsing")


def _lapse_change(card: Card, after: Card, lot: Lot, now: datetime) -> CardChange:
    return card_change(card, after, lot, now, SYSTEM, "lapse", f"not paid for by {card.pay_by}")
