"""The unified social credit code check (GB 32100-2015): well-formed codes pass, each kind of mistake is named."""

from __future__ import annotations

import pytest

from domain.credit_code import checked_credit_code
from domain.errors import InvalidTaxId

VALID = [
    "91350100M000100Y43",  # the standard's own example
    "9144030071526726XG",
    "91330100716105852F",
    "914403001922038216",
    "91110108551385082Q",
    "91110000802100433B",
    "91310000607216596U",
    "91440300708461136T",
    "91110000710925462X",
    "91330106673959654P",
]


@pytest.mark.parametrize("code", VALID)
def test_well_formed_codes_pass(code: str) -> None:
    assert checked_credit_code(code) == code


def test_spaces_and_lower_case_are_forgiven() -> None:
    assert checked_credit_code(" 9144 0300 7152 6726xg ") == "9144030071526726XG"


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("9144030071526726XH", "should be 'G', not 'H'"),  # one character off at the end
        ("9144030071526727XG", "check character"),  # a mistyped digit
        ("9144030017526726XG", "check character"),  # two digits swapped
        ("91350100M000100Y44", "should be '3'"),
        ("9144030071526726X", "18 characters; this one has 17"),
        ("9144030071526726XGG", "this one has 19"),
        ("", "this one has 0"),
        ("9144030071526726OG", "character 17 ('O')"),  # O for 0
        ("91I0000802100433BX", "character 3 ('I')"),
        ("9111000080210Z433B", "character 14 ('Z')"),
        ("91S0000607216596UX", "except I, O, Z, S and V"),
        ("911100008021004-3B", "character 16 ('-')"),
        ("C1110000802100433B", "registering department"),
        ("9111A000802100433B", "administrative division code: six digits"),
    ],
)
def test_mistakes_are_refused_naming_the_part_that_is_wrong(code: str, says: str) -> None:
    with pytest.raises(InvalidTaxId, match=says.replace("(", r"\(").replace(")", r"\)")):
        checked_credit_code(code)
