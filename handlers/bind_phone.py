"""Bind the owner's phone number from a getPhoneNumber code; only the masked number ever leaves."""

from __future__ import annotations

from dataclasses import dataclass

from domain.card import Card
from domain.errors import InvalidInput
from domain.phone import checked_phone, masked_phone
from handlers.claim_cards import Claiming, claim_waiting_cards
from handlers.ports import OwnerRepository, PhoneNumbers


@dataclass(frozen=True)
class BoundPhone:
    masked: str
    claimed: list[Card]
    """The cards the office imported with this phone: the owner's now."""


def bind_phone_and_claim(
    owner_id: str, code: str, wechat: PhoneNumbers, owners: OwnerRepository, claiming: Claiming
) -> BoundPhone:
    masked = bind_phone(owner_id, code, wechat, owners)
    return BoundPhone(masked, claim_waiting_cards(owner_id, owners, claiming))


def bind_phone(owner_id: str, code: str, wechat: PhoneNumbers, owners: OwnerRepository) -> str:
    if not code.strip():
        raise InvalidInput("phone_code_empty")
    number = checked_phone(wechat.phone_number(code))
    owners.set_phone(owner_id, number)
    return masked_phone(number)
