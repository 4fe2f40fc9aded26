from datetime import date

import pytest

from domain.card import Card, CardState
from domain.errors import InvalidCard, InvalidId, InvalidLot, InvalidPackage
from domain.lot import Lot
from domain.money import yuan_text
from domain.package import Duration, DurationUnit, Package
from tests.builders import a_card


def test_lot_defaults_to_shanghai_time() -> None:
    assert Lot(id="lot-1", name="A").timezone == "Asia/Shanghai"


def test_lot_refuses_an_unknown_time_zone() -> None:
    with pytest.raises(InvalidLot, match="time zone"):
        Lot(id="lot-1", name="A", timezone="Mars/Olympus")


@pytest.mark.parametrize("bad", ["", " x", "a/b", "x" * 65, "粤B", "a b", "-leading"])
def test_ids_with_an_impossible_shape_are_refused(bad: str) -> None:
    with pytest.raises(InvalidId, match="lot_id"):
        Lot(id=bad, name="A")


@pytest.mark.parametrize("price", [0, -1, 1.5, True, "300"])
def test_package_price_is_a_positive_integer_of_fen(price: object) -> None:
    with pytest.raises(InvalidPackage):
        Package("p", "lot-1", "P", Duration(DurationUnit.MONTHS, 1), price)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("unit", "count"), [(DurationUnit.MONTHS, 0), (DurationUnit.MONTHS, 121), (DurationUnit.DAYS, 0)]
)
def test_duration_must_be_sensible(unit: DurationUnit, count: int) -> None:
    with pytest.raises(InvalidPackage):
        Duration(unit, count)


def test_card_needs_one_to_five_distinct_plates() -> None:
    with pytest.raises(InvalidCard):
        a_card(date(2026, 12, 1), plates=())
    with pytest.raises(InvalidCard):
        a_card(date(2026, 12, 1), plates=("粤B12345", "粤B12345"))
    with pytest.raises(InvalidCard):
        a_card(date(2026, 12, 1), plates=tuple(f"粤B1234{i}" for i in range(6)))


def test_card_period_is_consistent() -> None:
    with pytest.raises(InvalidCard):
        Card("c", "lot-1", "o", ("粤B12345",), date(2026, 12, 2), date(2026, 12, 1), CardState.ACTIVE)
    with pytest.raises(InvalidCard):
        Card("c", "lot-1", "o", ("粤B12345",), None, None, CardState.ACTIVE)
    assert Card("c", "lot-1", "o", ("粤B12345",), None, None, CardState.PENDING).days_left(date(2026, 1, 1)) == 0


def test_days_left_counts_today_and_the_last_day() -> None:
    card = a_card(date(2026, 12, 3))
    assert card.days_left(date(2026, 11, 23)) == 11
    assert card.days_left(date(2026, 12, 3)) == 1
    assert card.days_left(date(2026, 12, 4)) == 0


@pytest.mark.parametrize(
    ("fen", "text"), [(30000, "300.00"), (1, "0.01"), (320000, "3200.00"), (-150, "-1.50"), (0, "0.00")]
)
def test_yuan_text_is_exact(fen: int, text: str) -> None:
    assert yuan_text(fen) == text
