"""Bill runs: one bill per fee item, unit and period however often the run goes; lines that add up to the amount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from domain.bill_run import FeeItem, FeeKind, RunInputs, Unit, UnitState, bill_id, draft_bills, due_date
from domain.fee_rules import Band, PricePoint, Stretch, area_fee, half_up, prorated_area_fee

SINCE = date(2026, 1, 1)
PROPERTY = FeeItem(
    "fee-area", "c1", "物业费", FeeKind.AREA, prices=(PricePoint(SINCE, 250),), vacancy_rate=Decimal("0.50")
)
WATER = FeeItem(
    "fee-water", "c1", "水费", FeeKind.METERED, meter="water",
    bands=(Band(Decimal(10), 300), Band(Decimal(20), 450), Band(None, 600)),
)  # fmt: skip
UNITS = [
    Unit("u101", "c1", "1", "101", 8850),
    Unit("u102", "c1", "1", "102", 10000),
    Unit("u103", "c1", "1", "103", 9000, UnitState.UNDELIVERED),
]


def test_a_run_drafts_one_bill_per_item_and_delivered_unit_and_a_second_run_none() -> None:
    first = draft_bills("2027-01", [PROPERTY], UNITS, set(), RunInputs())
    assert [(b.unit_id, b.amount_fen, b.due_date) for b in first] == [
        ("u101", 22_125, date(2027, 1, 31)), ("u102", 25_000, date(2027, 1, 31))
    ]  # fmt: skip
    assert draft_bills("2027-01", [PROPERTY], UNITS, {b.id for b in first}, RunInputs()) == []


def test_tiered_water_and_a_shared_share_are_lines_of_one_bill() -> None:
    inputs = RunInputs(use={"u101": Decimal(23)}, shared_fen={"u101": 334, "u102": 333})
    bills = {b.unit_id: b for b in draft_bills("2027-01", [WATER], UNITS, set(), inputs)}
    assert [(line.kind, line.amount_fen) for line in bills["u101"].lines] == [
        ("band", 3_000), ("band", 4_500), ("band", 1_800), ("shared", 334)
    ]  # fmt: skip
    assert bills["u101"].amount_fen == 9_634
    assert [(line.kind, line.amount_fen) for line in bills["u102"].lines] == [("shared", 333)]


def test_vacant_days_show_as_a_discount_line_and_the_amount_is_rounded_once() -> None:
    vacant = {"u101": [Stretch(date(2027, 1, 1), date(2027, 1, 10))]}
    [bill] = draft_bills("2027-01", [PROPERTY], UNITS[:1], set(), RunInputs(vacant=vacant))
    expected = prorated_area_fee(PROPERTY.prices, 8850, date(2027, 1, 1), 1, vacant["u101"], Decimal("0.50"))
    assert bill.amount_fen == expected
    assert [(line.kind, line.amount_fen) for line in bill.lines] == [("base", 22_125), ("vacancy", expected - 22_125)]
    assert bill.lines[1].text == "空置优惠"


def test_the_due_date_is_the_first_months_last_day_unless_the_item_names_one() -> None:
    assert due_date("2027-02", None) == date(2027, 2, 28)
    assert due_date("2027-01", 15) == date(2027, 1, 15)
    assert due_date("2027-02", 31) == date(2027, 2, 28)


@given(
    areas=st.lists(st.integers(1, 50_000), min_size=1, max_size=8),
    price=st.integers(0, 1_000),
    change=st.none() | st.tuples(st.integers(1, 27), st.integers(0, 1_000)),
    cycle=st.sampled_from([1, 3, 6, 12]),
    month=st.integers(1, 12),
)
def test_a_run_twice_makes_no_second_bill_and_every_bill_adds_up(
    areas: list[int], price: int, change: tuple[int, int] | None, cycle: int, month: int
) -> None:
    first = date(2027, month, 1)
    prices = [PricePoint(SINCE, price)] + ([PricePoint(first.replace(day=change[0]), change[1])] if change else [])
    item = FeeItem("fee-x", "c1", "物业费", FeeKind.AREA, prices=tuple(prices), cycle_months=cycle)
    units = [Unit(f"u{n}", "c1", "1", f"{n:03d}", a) for n, a in enumerate(areas)]
    period = f"{first:%Y-%m}"
    bills = draft_bills(period, [item], units, set(), RunInputs())
    # A bill for every unit that owes something (nothing to ask for: no bill, e.g. a price of 0)
    owing = [u for u in units if prorated_area_fee(prices, u.area_hundredths, first, cycle) > 0]
    assert len({b.id for b in bills}) == len(bills) == len(owing)
    assert {b.id for b in bills} == {bill_id("fee-x", u.id, period) for u in owing}
    assert draft_bills(period, [item], units, {b.id for b in bills}, RunInputs()) == []
    for b, u in zip(bills, owing, strict=True):
        assert sum(line.amount_fen for line in b.lines) == b.amount_fen
        assert b.amount_fen == prorated_area_fee(prices, u.area_hundredths, first, cycle)
        if change is None:
            assert b.amount_fen == area_fee(price, u.area_hundredths, cycle)


def test_a_band_change_inside_the_period_prices_the_days_before_and_after_on_their_own_bands() -> None:
    base = (Band(Decimal(10), 300), Band(None, 450))
    later = (Band(Decimal(10), 400), Band(None, 450))
    item = FeeItem("water", "c1", "水费", FeeKind.METERED, bands=base, meter="water",
                   later_bands=((date(2027, 1, 17), later),))  # fmt: skip
    unit = Unit("u1", "c1", "1", "101", 8850)
    [bill] = draft_bills("2027-01", [item], [unit], set(), RunInputs(use={"u1": Decimal(31)}))
    # 16 of 31 days on the old bands (16 used: 10 at 300 ... limit 10 x 16/31), 15 on the new ones
    assert [line.text for line in bill.lines] == [
        "5.16吨 × 3.00 元/吨", "10.84吨 × 4.50 元/吨", "4.84吨 × 4.00 元/吨", "10.16吨 × 4.50 元/吨"]  # fmt: skip
    exact = (Fraction(160, 31) * 300 + Fraction(336, 31) * 450 + Fraction(150, 31) * 400 + Fraction(315, 31) * 450)
    assert bill.amount_fen == sum(line.amount_fen for line in bill.lines) == half_up(exact)
    unchanged = FeeItem("water", "c1", "水费", FeeKind.METERED, bands=base, meter="water",
                        later_bands=((date(2027, 2, 1), later),))  # fmt: skip
    [flat] = draft_bills("2027-01", [unchanged], [unit], set(), RunInputs(use={"u1": Decimal(31)}))
    assert flat.amount_fen == 10 * 300 + 21 * 450  # the change starts after the period: the old bands only
