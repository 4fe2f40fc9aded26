"""Bind the owner's phone number from a getPhoneNumber code; only the masked number ever leaves."""

from __future__ import annotations

from domain.errors import InvalidInput
from domain.phone import checked_phone, masked_phone
from handlers.ports import OwnerRepository, PhoneNumbers


def bind_phone(owner_id: str, code: str, wechat: PhoneNumbers, owners: OwnerRepository) -> str:
    if not code.strip():
        raise InvalidInput("phone_code_empty")
    number = checked_phone(wechat.phone_number(code))
    owners.set_phone(owner_id, number)
    return masked_phone(number)
