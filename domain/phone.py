"""Phone numbers: personal data, shown only masked."""

from __future__ import annotations

import re

from domain.errors import InvalidInput

_PHONE = re.compile(r"\+?[0-9]{5,20}")


def checked_phone(number: str) -> str:
    if not _PHONE.fullmatch(number):
        raise InvalidInput("phone_digits")
    return number


def normalised_phone(text: str) -> str:
    """A phone as people write it ("138 0000 1234", "+86-138-0000-1234") as WeChat gives it ("13800001234")."""
    number = "".join(c for c in text.strip() if c not in " -()")
    for prefix in ("+86", "0086"):
        if number.startswith(prefix) and len(number) == len(prefix) + 11:
            number = number[len(prefix) :]
    if len(number) == 13 and number.startswith("861"):
        number = number[2:]
    return checked_phone(number)


def masked_phone(number: str) -> str:
    """13800000000 -> 138****0000: enough for the owner to recognise, useless to anyone else."""
    digits = number.lstrip("+")
    if len(digits) <= 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
