"""The unified social credit code (统一社会信用代码, GB 32100-2015) a company invoice is made out to.

18 characters: the registering department (1), the kind of organisation (1),
the administrative division (6 digits), the organisation code (9) and a check
character. Letters I, O, Z, S and V are never used. The check character is
31 minus the weighted sum (weights 3^i mod 31) of the first 17, modulo 31.
"""

from __future__ import annotations

from domain.errors import InvalidTaxId

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a code uses; a character's value is its position here."""
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
DEPARTMENTS = "123456789ANY"
"""Registering departments: 1 机构编制, 5 民政, 9 工商 (market regulation), Y others, ..."""


def check_character(first_17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first_17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def checked_credit_code(text: str) -> str:
    """The code, upper-cased and without spaces, if it is well formed; InvalidTaxId saying which part is wrong."""
    code = "".join(text.split()).upper()
    if len(code) != 18:
        raise InvalidTaxId("tax_id_length", length=len(code))
    for position, c in enumerate(code, start=1):
        if c not in ALPHABET:
            raise InvalidTaxId("tax_id_character", position=position, character=c)
    if code[0] not in DEPARTMENTS:
        raise InvalidTaxId("tax_id_department", character=code[0])
    if not code[2:8].isdigit():
        raise InvalidTaxId("tax_id_division", division=code[2:8])
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidTaxId("tax_id_check", expected=expected, found=code[17])
    return code
