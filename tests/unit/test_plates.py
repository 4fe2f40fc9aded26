"""Plate validation and normalisation: what owners type, and what we store."""

import pytest

from domain.errors import InvalidPlate
from domain.plate import normalise_plate


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("粤B12345", "粤B12345"),
        ("粤b12345", "粤B12345"),
        ("粤B 12345", "粤B12345"),
        ("粤B·12345", "粤B12345"),
        ("粤B•12345", "粤B12345"),
        (" 粤 B-12 345 ", "粤B12345"),
        ("京A8K2X9", "京A8K2X9"),
        ("京AB1234", "京AB1234"),
        ("沪C0000Z", "沪C0000Z"),
        ("川A12345", "川A12345"),
        ("新A99999", "新A99999"),
        ("蒙Z1Z2Z3", "蒙Z1Z2Z3"),
        ("粤Ｂ１２３４５", "粤B12345"),  # full-width from a Chinese keyboard
        ("粤BD12345", "粤BD12345"),  # small new-energy, pure electric
        ("粤BF12345", "粤BF12345"),  # small new-energy, hybrid
        ("粤BDA1234", "粤BDA1234"),  # small new-energy with a letter
        ("粤B12345D", "粤B12345D"),  # large new-energy
        ("粤B12345F", "粤B12345F"),
        ("粤bd·12345", "粤BD12345"),
        ("粤B1234学", "粤B1234学"),
        ("粤B1234警", "粤B1234警"),
        ("粤B1234挂", "粤B1234挂"),
        ("粤Z1234港", "粤Z1234港"),
        ("粤Z1234澳", "粤Z1234澳"),
        ("京A1234领", "京A1234领"),
        ("京A1234使", "京A1234使"),
    ],
)
def test_valid_plates_are_stored_normalised(typed: str, stored: str) -> None:
    assert normalise_plate(typed) == stored


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("B12345", "province"),
        ("AB12345", "province"),
        ("港B12345", "province"),
        ("粤112345", "issuing authority"),
        ("粤", "issuing authority"),
        ("粤B1234O", "letter O; did you mean 0"),
        ("粤BO2345", "letter O; did you mean 0"),
        ("粤B1I345", "letter I; did you mean 1"),
        ("粤BDI2345", "letter I"),
        ("粤B1234", "7 characters"),
        ("粤B123456789", "7 characters"),
        ("粤B1234!", "ends with"),
        ("粤B12#45", "'#'"),
        ("粤B123学5", "'学'"),
        ("粤BA12345", "new-energy"),  # 8 characters but not D/F
        ("粤BD1234A", "new-energy"),
        ("粤B1234DF", "new-energy"),
        ("粤B12345X", "new-energy"),
        ("粤BDAB123", "new-energy"),
        ("粤B1234车", "ends with"),
    ],
)
def test_invalid_plates_are_refused_saying_what_is_wrong(typed: str, says: str) -> None:
    with pytest.raises(InvalidPlate) as refused:
        normalise_plate(typed)
    assert says in refused.value.message
