"""Owners claim the cards the office imported: by their WeChat-verified phone, or by a code on a printed slip.

The office prints a slip for a card whose holder's phone it did not know (or that its owner cannot claim
by phone); the code's secret is kept only as a fingerprint, and wrong tries are counted per card (its
code dies at the limit) and per owner (a day's tries), so codes cannot be guessed.
"""

from __future__ import annotations

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
from domain.errors import CardClaimed, ClaimCodeInvalid, ClaimCodeLocked, InvalidInput, RateLimited
from domain.lot import Lot
from domain.phone import normalised_phone
from domain.plan import Plan
from handlers.admin_cards import office_card
from handlers.card_changes import commit_for_card
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


@dataclass(frozen=True)
class Claiming:
    """What claiming reads and writes."""

    cards: CardRepository
    queries: CardQueries
    lots: LotRepository
    uow: UnitOfWork
    clock: Clock
    sealer: Sealer


def claim_by_phone(owner_id: str, owners: OwnerRepository, c: Claiming) -> list[Card]:
    """The imported cards whose holder's phone is the owner's bound (WeChat-verified) phone become theirs."""
    owner = owners.get(owner_id)
    if owner is None or owner.phone is None:
        return []
    key = c.sealer.fingerprint(normalised_phone(owner.phone), "phone")
    claimed = []
    for waiting in c.queries.waiting_for_phone(key):
        if not waits_for_owner(waiting):
            continue
        try:
            claimed.append(_claim(waiting.id, owner_id, "phone", c))
        except CardClaimed:
            continue  # someone claimed it by its code a moment ago
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
    candidates = c.queries.waiting_for_code(locator)
    for found in candidates:
        if found.claim is None or found.claim.code_key != digest:
            continue
        if found.owner_id == owner_id:
            return found  # claimed with this code by them already (asked twice)
        if not waits_for_owner(found):
            raise ClaimCodeInvalid()  # spent: someone claimed the card with it
        if not code_usable(found):
            raise ClaimCodeLocked()
        return _claim(found.id, owner_id, "code", c)
    for found in candidates:  # a wrong secret for a real locator counts against that card's code
        if waits_for_owner(found):
            _refuse(found.id, owner_id, c)
    raise ClaimCodeInvalid()


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
    if not 8 <= len(idempotency_key) <= 64:
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
        return code_plan(card, locator, digest, lot, now, f"admin:{account.email}")

    card, _ = commit_for_card(card_id, decide, c.cards, c.lots, c.uow, c.clock)
    return ClaimSlip(card, lot, format_code(locator, secret))


def _claim(card_id: str, owner_id: str, how: str, c: Claiming) -> Card:
    def decide(card: Card, lot: Lot, now: datetime) -> Plan | None:
        if card.owner_id == owner_id:
            return None  # theirs already
        return claim_plan(card, owner_id, lot, now, how)

    return commit_for_card(card_id, decide, c.cards, c.lots, c.uow, c.clock)[0]


def _refuse(card_id: str, owner_id: str, c: Claiming) -> None:
    def decide(card: Card, lot: Lot, now: datetime) -> Plan | None:
        if not code_usable(card):
            return None  # claimed meanwhile, or dead already: nothing to count
        return code_refused_plan(card, owner_id, lot, now)

    commit_for_card(card_id, decide, c.cards, c.lots, c.uow, c.clock)


def _count_try(owner_id: str, rates: RateCounter, now: datetime) -> None:
    day = now.date().isoformat()
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    if rates.hit(f"claim-tries:{owner_id}:{day}", tomorrow) > MAX_CLAIM_TRIES_PER_DAY:
        raise RateLimited(int((tomorrow - now).total_seconds()))
