"""Owners claiming the cards the office imported for them: by the phone the office knew, or by a printed code.

Until then an imported card belongs to the office (`office-<lot>`); a claim makes the owner its owner,
recorded in the card's history like any change (the one commit path), so the gates, places and
reminders stay as they were and the reminders go to the new owner.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from domain.card import Card, ClaimTicket
from domain.card_change import card_plan
from domain.errors import CardClaimed, ClaimCodeLocked
from domain.lot import Lot
from domain.plan import Plan

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""No 0/O or 1/I: a code is read off paper and typed on a phone."""
LOCATOR_LENGTH = 4
SECRET_LENGTH = 6
"""32^6 ≈ 10^9 secrets against at most MAX_CODE_FAILURES guesses per card."""
MAX_CODE_FAILURES = 5
MAX_CLAIM_TRIES_PER_DAY = 10
"""An owner's tries of codes in a day (right or wrong): enough for a family's cards, too few to guess."""


def office_owner(lot_id: str) -> str:
    """Who holds an imported card until its owner claims it."""
    return f"office-{lot_id}"[:64]


def waits_for_owner(card: Card) -> bool:
    """The office's card, waiting for its owner (also one imported before cards carried a ClaimTicket)."""
    return card.owner_id == office_owner(card.lot_id)


def claimed(card: Card, owner_id: str) -> Card:
    """The card, its owner's: the phone the office knew goes; a code it was claimed with stays, so the same
    code from the same owner finds the card again (and from anyone else finds it spent)."""
    ticket = _ticket(card)
    kept = replace(ticket, phone_key=None, phone_sealed=None, phone_last4=None) if ticket.code_key else None
    return replace(card, owner_id=owner_id, claim=kept)


def claim_plan(card: Card, owner_id: str, lot: Lot, at: datetime, how: str) -> Plan:
    """The card becomes the owner's (`how`: "phone" or "code"), as of the card read (its version)."""
    why = {"phone": "绑定手机号认领", "code": "认领码认领"}[how]
    return card_plan(card, claimed(card, owner_id), lot, at, f"owner:{owner_id}", "claim", why)


def code_refused_plan(card: Card, owner_id: str, lot: Lot, at: datetime) -> Plan:
    """A wrong secret for this card's code: counted on the card (and in its history: who tried)."""
    ticket = _ticket(card)
    if ticket.code_failures >= MAX_CODE_FAILURES:
        raise ClaimCodeLocked()
    after = replace(card, claim=replace(ticket, code_failures=ticket.code_failures + 1))
    return card_plan(card, after, lot, at, f"owner:{owner_id}", "claim_refused", "认领码错误")


def code_plan(card: Card, locator: str, code_key: str, lot: Lot, at: datetime, actor: str) -> Plan:
    """A new claim code for the card (any earlier one stops working; the count of wrong tries starts again)."""
    after = replace(card, claim=replace(_ticket(card), code_locator=locator, code_key=code_key, code_failures=0))
    return card_plan(card, after, lot, at, actor, "claim_code", "打印认领单（旧认领码作废）")


def code_usable(card: Card) -> bool:
    return waits_for_owner(card) and card.claim is not None and card.claim.code_failures < MAX_CODE_FAILURES


def split_code(text: str) -> tuple[str, str] | None:
    """ "7KQ2-MX4P9D" (any case, spaces or dashes anywhere) -> ("7KQ2", "MX4P9D"); None if it cannot be a code."""
    code = "".join(c for c in text.upper() if c not in " -")
    if len(code) != LOCATOR_LENGTH + SECRET_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code[:LOCATOR_LENGTH], code[LOCATOR_LENGTH:]


def format_code(locator: str, secret: str) -> str:
    return f"{locator}-{secret}"


def _ticket(card: Card) -> ClaimTicket:
    if not waits_for_owner(card):
        raise CardClaimed(card.id)
    return card.claim or ClaimTicket()
