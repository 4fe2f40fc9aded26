"""Changes to a card after it exists: pause and resume, plates, presence, expiry.

Each change is computed by a domain rule from the card as it is now, planned
(domain/card_change.card_plan: the card under its version, plate claims, places,
the gates' news, reminders, audit) and committed by the one unit of work: a
concurrent change makes it read again and decide again, so calling twice or at
once never applies a change twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from domain.card import Card
from domain.card_change import card_plan
from domain.card_plates import add_plate, remove_plate, swap_plate
from domain.errors import CardNotFound, Conflict, RecordedAlready, StaleCard, StaleLot
from domain.ids import checked_id
from domain.lot import Lot
from domain.pause import decide_pause, request_pause, resume
from domain.plan import Plan, once
from domain.plate import normalise_plate
from handlers.office_keys import FormKey, done_before
from handlers.ports import CardRepository, Clock, IdSource, LotRepository, UnitOfWork
from handlers.retry import MAX_ATTEMPTS, wait_before_retry

Rule = Callable[[Card, Lot, date], Card]
"""A domain rule: the card after the change, given the card, its lot and the lot's today."""

Decide = Callable[[Card, Lot, datetime], Plan | None]
"""What a change writes, from the card and its lot as read now; None: nothing to do (asked twice)."""


def commit_for_card(
    card_id: str,
    decide: Decide,
    cards: CardRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    clock: Clock,
    owner_id: str | None = None,
    key: FormKey | None = None,
) -> tuple[Card, Plan | None]:
    """Read the card and its lot, plan, commit; a concurrent change makes it read and plan again.

    `owner_id` set: only that owner's card exists. `key`: the office form's key, taken in the plan, so the
    form's change happens once (sent again, it answers the card as it is). Answers the card as written and
    the plan (None if nothing was to be done).
    """
    for attempt in range(MAX_ATTEMPTS):
        card = cards.get(checked_id("card_id", card_id))
        if card is None or (owner_id is not None and card.owner_id != owner_id):
            raise CardNotFound(card_id)
        lot = lots.get(card.lot_id)
        if lot is None:
            raise CardNotFound(card_id)
        earlier = done_before(key, uow)
        if earlier is not None:
            if earlier.card_id != card.id:
                raise Conflict("form_key_reused")  # a page bug: one opened form's key sent for another card
            return cards.get(card.id) or card, None  # read again: the form may have committed since our read
        plan = decide(card, lot, clock.now())
        if plan is None:
            return card, None
        if key is not None:
            plan = plan + once(key.claim(card_id=card.id))
        try:
            uow.commit(plan)
        except RecordedAlready:
            return cards.get(card.id) or card, None  # the same form, sent twice at once: the other did it
        except (StaleCard, StaleLot):
            wait_before_retry(attempt)
            continue
        return written(plan, card.id), plan
    raise Conflict("kept_changing")


def written(plan: Plan, card_id: str) -> Card:
    """The card as the plan left it, with the version the commit gave it."""
    w = next(c for c in plan.cards if c.card.id == card_id)
    return replace(w.card, version=(w.expected_version or 0) + 1)


def change_card(
    card_id: str,
    rule: Rule,
    actor: str,
    action: str,
    cards: CardRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    clock: Clock,
    owner_id: str | None = None,
    reason: str | None = None,
    key: FormKey | None = None,
) -> Card:
    """Apply `rule` to the card and commit it through the card's plan."""

    def decide(card: Card, lot: Lot, now: datetime) -> Plan | None:
        after = rule(card, lot, lot.today(now))
        return None if after == card else card_plan(card, after, lot, now, actor, action, reason)

    return commit_for_card(card_id, decide, cards, lots, uow, clock, owner_id, key)[0]


def pause_card(
    owner_id: str,
    card_id: str,
    starts: date,
    until: date | None,
    cards: CardRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    ids: IdSource,
    clock: Clock,
) -> Card:
    def rule(card: Card, lot: Lot, today: date) -> Card:
        planned = card.open_pause(today)
        same_end = until is None if planned is None or planned.open_ended else planned.until == until
        if planned is not None and planned.starts == starts and same_end:
            return card  # the same pause asked for again
        return request_pause(card, lot, starts, until, today, ids.new_id("pause"), clock.now())

    return change_card(card_id, rule, f"owner:{owner_id}", "pause", cards, lots, uow, clock, owner_id)


def resume_card(
    owner_id: str, card_id: str, cards: CardRepository, lots: LotRepository, uow: UnitOfWork, clock: Clock
) -> Card:
    return change_card(
        card_id,
        lambda c, _, today: resume(c, today),
        f"owner:{owner_id}",
        "resume",
        cards,
        lots,
        uow,
        clock,
        owner_id,
    )


def answer_pause(
    card_id: str,
    pause_id: str,
    approve: bool,
    actor: str,
    reason: str | None,
    cards: CardRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    clock: Clock,
    key: FormKey | None = None,
) -> Card:
    """The office approves or rejects a requested pause (the admin function calls this)."""
    action = "approve_pause" if approve else "reject_pause"
    return change_card(
        card_id,
        lambda c, _, today: decide_pause(c, pause_id, approve, today, reason),
        actor,
        action,
        cards,
        lots,
        uow,
        clock,
        reason=reason,
        key=key,
    )


def change_plate(
    owner_id: str,
    card_id: str,
    old: str,
    new: str,
    cards: CardRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    clock: Clock,
) -> Card:
    old_plate, new_plate = normalise_plate(old), normalise_plate(new)

    def rule(card: Card, lot: Lot, today: date) -> Card:
        if new_plate in card.plates and old_plate not in card.plates:
            return card  # swapped already (a retry)
        return swap_plate(card, lot, old_plate, new_plate, today)

    return change_card(
        card_id,
        rule,
        f"owner:{owner_id}",
        "swap_plate",
        cards,
        lots,
        uow,
        clock,
        owner_id,
    )


def add_card_plate(
    owner_id: str,
    card_id: str,
    plate: str,
    cards: CardRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    clock: Clock,
) -> Card:
    added = normalise_plate(plate)
    return change_card(
        card_id,
        lambda c, lot, _: add_plate(c, lot, added),
        f"owner:{owner_id}",
        "add_plate",
        cards,
        lots,
        uow,
        clock,
        owner_id,
    )


def remove_card_plate(
    owner_id: str,
    card_id: str,
    plate: str,
    cards: CardRepository,
    lots: LotRepository,
    uow: UnitOfWork,
    clock: Clock,
) -> Card:
    removed = normalise_plate(plate)
    return change_card(
        card_id,
        lambda c, _, __: remove_plate(c, removed),
        f"owner:{owner_id}",
        "remove_plate",
        cards,
        lots,
        uow,
        clock,
        owner_id,
    )
