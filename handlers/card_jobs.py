"""The card jobs (daily, and on every tick): expire cards past their end, lapse approvals never paid for,
and offer the places that freed up to the waitlist, a card at a time (found by the tick, done by the work
consumers). Also the office's cancel and restore, which move a card in or out of its lot's places by the same
plans."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from domain.application import ApplicationState, application_id_of, follows_card
from domain.card import Card, CardState
from domain.card_change import card_plan
from domain.errors import InvalidInput, LotFull, UnpaidOrderExists
from domain.expiry import cancelled, expired, lapsed, restored
from domain.lot import Lot
from domain.plan import Plan
from handlers.applications import offer_free_places
from handlers.card_changes import commit_for_card
from handlers.follow_ups import run_follow_ups
from handlers.notify import Notices
from handlers.office_keys import FormKey
from handlers.ports import ApplicationRepository, CardQueries, CardRepository, Clock, LotRepository, UnitOfWork

SYSTEM = "system"
AHEAD = timedelta(hours=14)
"""The furthest time zone is UTC+14: no lot's today is later than the UTC date of now + 14 h."""
log = logging.getLogger("parkpass.card_jobs")


@dataclass(frozen=True)
class PlaceFreed:
    """A card stopped holding one of the lot's places: the first in line gets it."""

    lot_id: str


@dataclass
class JobReport:
    expired: list[str] = field(default_factory=list)
    lapsed: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)
    """Applications that got a freed place."""


@dataclass(frozen=True)
class CardLife:
    """What moving a card in or out of its lot's places needs."""

    cards: CardRepository
    lots: LotRepository
    applications: ApplicationRepository
    uow: UnitOfWork
    clock: Clock
    notices: Notices


EXPIRE_CARD, LAPSE_CARD = "card-expire", "card-lapse"
"""The card jobs' kinds of work: one card each (a message of the work queue, or done in turn by `run_card_jobs`)."""


def due_card_jobs(queries: CardQueries, life: CardLife) -> Iterator[tuple[str, str]]:
    """(kind, card id) of each card whose last day or pay-by day is over where its lot is (found among those
    over somewhere on Earth); the job decides again when it is done."""
    now = life.clock.now()
    latest = (now + AHEAD).date()
    lots: dict[str, Lot | None] = {}

    def lot_of(card: Card) -> Lot | None:
        if card.lot_id not in lots:  # a lot's cards end together: each lot read once a run
            lots[card.lot_id] = life.lots.get(card.lot_id)
        return lots[card.lot_id]

    for card in queries.ended_before(latest):
        lot = lot_of(card)
        if lot is not None and expired(card, lot.today(now)) is not None:  # over where its lot is
            yield EXPIRE_CARD, card.id
    for card in queries.unpaid_before(latest):
        lot = lot_of(card)
        if lot is not None and lapsed(card, lot.today(now)) is not None:
            yield LAPSE_CARD, card.id


def expire_card(card_id: str, life: CardLife) -> bool:
    """The card expired if its last day is over where its lot is; False: not yet, or expired already."""

    def decide(card: Card, lot: Lot, now: datetime) -> Plan | None:
        after = expired(card, lot.today(now))
        return None if after is None or after == card else card_plan(card, after, lot, now, SYSTEM, "expire", None)

    return commit_for_card(card_id, decide, life.cards, life.lots, life.uow, life.clock)[1] is not None


def lapse_card(card_id: str, life: CardLife) -> tuple[bool, list[str]]:
    """An approval never paid for lapses after its pay-by day (not while an order of it waits for payment: it
    lapses once that closes); answers whether it lapsed and the applications offered its place."""
    card = life.cards.get(card_id)
    if card is None:
        return False, []
    try:
        _, plan = _leave(card_id, SYSTEM, "lapse", f"未在 {card.pay_by} 前付款", life, lapse=True)
    except UnpaidOrderExists:
        log.info("card %s has an order waiting for payment; it lapses once that closes", card_id)
        return False, []
    if plan is None:
        if card.state is CardState.CANCELLED:  # lapsed already: its consumer may have died before offering the place
            offer_free_places(card.lot_id, life.lots, life.applications, life.uow, life.clock, life.notices)
        return False, []
    return True, _follow(plan, life)


def run_card_jobs(queries: CardQueries, life: CardLife) -> JobReport:
    """Every card job due, in turn, in this process (no work queue)."""
    report = JobReport()
    for kind, card_id in due_card_jobs(queries, life):
        if kind == EXPIRE_CARD and expire_card(card_id, life):
            report.expired.append(card_id)
        elif kind == LAPSE_CARD:
            lapsed, offered = lapse_card(card_id, life)
            if lapsed:
                report.lapsed.append(card_id)
                report.offered += offered
    return report


def cancel_card(card_id: str, actor: str, reason: str, life: CardLife, key: FormKey | None = None) -> Card:
    """The office cancels a card: its place goes to the first in line at once, and its plates are free.

    Refused while an order of the card waits for payment (it could still be paid). `key`: the office
    form's, so the form cancels once (a restore meanwhile is not undone by a retry of it).
    """
    if not reason.strip():
        raise InvalidInput("reason_for_history")
    card, plan = _leave(card_id, actor, "cancel", reason.strip(), life, lapse=False, key=key)
    if plan is not None:
        _follow(plan, life)
    else:  # cancelled already (a retry): the place may still be waiting for its taker
        offer_free_places(card.lot_id, life.lots, life.applications, life.uow, life.clock, life.notices)
    return card


def restore_card(card_id: str, actor: str, reason: str, life: CardLife, key: FormKey | None = None) -> Card:
    """The office brings a cancelled card back: it takes a place again (refused when the lot is full)
    and its plates (refused when another card or application holds one now)."""
    if not reason.strip():
        raise InvalidInput("reason_for_history")

    def decide(card: Card, lot: Lot, now: datetime) -> Plan | None:
        if card.state is not CardState.CANCELLED:
            return None  # not cancelled (or restored already)
        if not lot.has_room():
            raise LotFull(lot.id)
        after = restored(card, lot.today(now), lot.cards.pay_within_days)
        return card_plan(card, after, lot, now, actor, "restore", reason.strip()) + _application_follows(
            card, ApplicationState.APPROVED, life
        )

    return commit_for_card(card_id, decide, life.cards, life.lots, life.uow, life.clock, key=key)[0]


def _leave(
    card_id: str, actor: str, action: str, reason: str, life: CardLife, lapse: bool, key: FormKey | None = None
) -> tuple[Card, Plan | None]:
    def decide(card: Card, lot: Lot, now: datetime) -> Plan | None:
        after = lapsed(card, lot.today(now)) if lapse else cancelled(card)
        if after is None or after == card:
            return None
        to = ApplicationState.LAPSED if lapse else ApplicationState.CANCELLED
        plan = card_plan(card, after, lot, now, actor, action, reason) + _application_follows(card, to, life)
        return replace(plan, follow_ups=(PlaceFreed(lot.id),))

    return commit_for_card(card_id, decide, life.cards, life.lots, life.uow, life.clock, key=key)


def _application_follows(card: Card, to: ApplicationState, life: CardLife) -> Plan:
    application_id = application_id_of(card)
    application = life.applications.get(application_id) if application_id else None
    write = follows_card(application, to) if application is not None and application.card_id == card.id else None
    return Plan(applications=(write,)) if write is not None else Plan()


def _follow(plan: Plan, life: CardLife) -> list[str]:
    offered: list[str] = []

    def offer(e: PlaceFreed) -> None:
        offered.extend(
            a.id for a in offer_free_places(e.lot_id, life.lots, life.applications, life.uow, life.clock, life.notices)
        )

    run_follow_ups(plan.follow_ups, {PlaceFreed: offer})  # a failure is logged; a retry of the cancel offers again
    return offered
