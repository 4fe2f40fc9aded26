"""Phone numbers: personal data, shown only masked."""

from __future__ import annotations

import re

from domain.errors import InvalidInput

_PHONE = re.compile(r"\+?[0-9]{5,20}")


def checked_phone(number: str) -> str:
    if not _PHONE.fullmatch(number):
        raise InvalidInput("phone_digits")
    return number


def masked_phone(number: str) -> str:
    """13800000000 -> 138****0000: enough for the owner to recognise, useless to anyone else."""
    digits = number.lstrip("+")
    if len(digits) <= 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
