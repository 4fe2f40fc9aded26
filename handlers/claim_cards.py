"""Owners claim the cards the office imported: by their WeChat-verified phone, or by a code on a printed slip.

The office prints a slip for a card whose holder's phone it did not know (or that its owner cannot claim
by phone); the code's secret is kept only as a fingerprint, and wrong tries are counted per card (its
code dies at the limit) and per owner (a day's tries), so codes cannot be guessed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.admin import Permission, Staff
from domain.card import Card
from domain.card_claim import (
    CODE_ALPHABET,
    LOCATOR_LENGTH,
    MAX_CLAIM_TRIES_PER_DAY,
    SECRET_LENGTH,
    claim_plan,
    code_plan,
    code_refused_plan,
    code_usable,
    format_code,
    split_code,
    waits_for_owner,
)
from domain.errors import ClaimCodeInvalid, ClaimCodeLocked, Conflict, DomainError, InvalidInput, RateLimited
from domain.lot import Lot
from domain.phone import normalised_phone
from domain.plan import Plan, once
from handlers.admin_cards import office_card
from handlers.card_changes import commit_for_card
from handlers.office_keys import done_before, form_key
from handlers.ports import (
    CardQueries,
    CardRepository,
    Clock,
    LotRepository,
    OwnerRepository,
    RateCounter,
    Sealer,
    UnitOfWork,
)

log = logging.getLogger("parkpass.claims")


@dataclass(frozen=True)
class Claiming:
    """What claiming reads and writes."""

    cards: CardRepository
    queries: CardQueries
    lots: LotRepository
    uow: UnitOfWork
    clock: Clock
    sealer: Sealer


def claim_waiting_cards(owner_id: str, owners: OwnerRepository, c: Claiming) -> list[Card]:
    """claim_by_phone as a step of another use case (binding the phone, listing one's cards): a claim that
    cannot be made now is logged and left for the next time, never failing what the owner asked for."""
    try:
        return claim_by_phone(owner_id, owners, c)
    except DomainError as e:
        log.warning("claiming %s's imported cards failed, left for the next time: %s", owner_id, e.code)
        return []


def claim_by_phone(owner_id: str, owners: OwnerRepository, c: Claiming) -> list[Card]:
    """The imported cards whose holder's phone is the owner's bound (WeChat-verified) phone become theirs."""
    owner = owners.get(owner_id)
    if owner is None or owner.phone is None:
        return []
    key = c.sealer.fingerprint(normalised_phone(owner.phone), "phone")

    def decide(card: Card, lot: Lot, now: datetime) -> Plan | None:
        # The index only names candidates: the card as read now decides (it may have been claimed meanwhile).
        if not waits_for_owner(card) or card.claim is None or card.claim.phone_key != key:
            return None
        return claim_plan(card, owner_id, lot, now, "phone")

    claimed = []
    for waiting in c.queries.waiting_for_phone(key):
        card, plan = commit_for_card(waiting.id, decide, c.cards, c.lots, c.uow, c.clock)
        if plan is not None:
            claimed.append(card)
    return claimed


def claim_by_code(owner_id: str, text: str, rates: RateCounter, c: Claiming) -> Card:
    """The card whose slip carries this code becomes the owner's; ClaimCodeInvalid / ClaimCodeLocked if not."""
    now = c.clock.now()
    _count_try(owner_id, rates, now)
    parts = split_code(text)
    if parts is None:
        raise ClaimCodeInvalid()
    locator, secret = parts
    digest = c.sealer.fingerprint(secret, f"claim-code:{locator}")
    for candidate in c.queries.waiting_for_code(locator):
        card = _try_code(candidate.id, owner_id, locator, digest, c)
        if card is not None:
            return card
    raise ClaimCodeInvalid()


def _try_code(card_id: str, owner_id: str, locator: str, digest: str, c: Claiming) -> Card | None:
    """The card, if the code is its current one: claimed now, or by this owner before (asked twice).
    None if the card's code is another: a wrong secret for its locator is counted on it (audited)."""
    outcome: list[str] = []

    def decide(card: Card, lot: Lot, now: datetime) -> Plan | None:
        # The index only names candidates: the card as read now decides (a new slip or a claim may have
        # landed since the index was written).
        outcome.clear()
        ticket = card.claim
        if ticket is None or ticket.code_locator != locator:
            return None
        if ticket.code_key != digest:
            if not code_usable(card):
                return None
            outcome.append("refused")
            return code_refused_plan(card, owner_id, lot, now)
        if card.owner_id == owner_id:
            outcome.append("mine")
            return None  # claimed with this code by them already (asked twice)
        if not waits_for_owner(card):
            return None  # spent: someone claimed the card with it
        if not code_usable(card):
            raise ClaimCodeLocked()
        outcome.append("claimed")
        return claim_plan(card, owner_id, lot, now, "code")

    card, _ = commit_for_card(card_id, decide, c.cards, c.lots, c.uow, c.clock)
    return card if outcome and outcome[0] in ("mine", "claimed") else None


@dataclass(frozen=True)
class ClaimSlip:
    card: Card
    lot: Lot
    code: str
    """Shown once, on the slip: only its fingerprint is kept."""


def print_claim_code(account: Staff, card_id: str, idempotency_key: str, c: Claiming) -> ClaimSlip:
    """A new claim code for an imported card not yet claimed (any earlier one stops working), audited.

    The code follows from the card and the form's idempotency key (a keyed fingerprint of both), so a
    second click prints the same slip and nothing but its fingerprint is ever stored.
    """
    form = form_key(f"admin:{account.email}", idempotency_key)
    if form is None:
        raise InvalidInput("idempotency_key")
    _, lot = office_card(account, card_id, c.cards, c.lots, Permission.MANAGE)
    drawn = int(c.sealer.fingerprint(f"{card_id}:{idempotency_key}", "claim-slip"), 16)
    code = ""
    for _ in range(LOCATOR_LENGTH + SECRET_LENGTH):
        drawn, i = divmod(drawn, len(CODE_ALPHABET))
        code += CODE_ALPHABET[i]
    locator, secret = code[:LOCATOR_LENGTH], code[LOCATOR_LENGTH:]
    digest = c.sealer.fingerprint(secret, f"claim-code:{locator}")

    def decide(card: Card, lot: Lot, now: datetime) -> Plan | None:
        if card.claim is not None and (card.claim.code_locator, card.claim.code_key) == (locator, digest):
            return None  # this form's slip was printed already
        if done_before(form, c.uow) is not None:
            raise Conflict("slip_replaced")  # a late retry of a form whose slip another one replaced
        printed = code_plan(card, locator, digest, lot, now, f"admin:{account.email}")
        return printed + once(form.claim(card_id=card.id))

    card, _ = commit_for_card(card_id, decide, c.cards, c.lots, c.uow, c.clock)
    return ClaimSlip(card, lot, format_code(locator, secret))


def _count_try(owner_id: str, rates: RateCounter, now: datetime) -> None:
    day = now.date().isoformat()
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    if rates.hit(f"claim-tries:{owner_id}:{day}", tomorrow) > MAX_CLAIM_TRIES_PER_DAY:
        raise RateLimited(int((tomorrow - now).total_seconds()))
