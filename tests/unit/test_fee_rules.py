"""Property-fee money rules, exactly in fen: the issue's worked examples, and properties that hold for any input."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.fee_rules import (
    Band,
    BandStretch,
    LateFeeRule,
    PricePoint,
    ReadingRefused,
    Stretch,
    area_fee,
    exact_area_fee,
    half_up,
    late_days,
    late_fee,
    metered_use,
    prorated_area_fee,
    prorated_tiered_charges,
    split_exactly,
    tiered_charges,
    tiered_fee,
)

BANDS = [Band(Decimal(10), 300), Band(Decimal(20), 450), Band(None, 600)]
RULE = LateFeeRule(Decimal("0.0005"), 15, Decimal("0.30"))


def test_an_area_fee_for_whole_months() -> None:
    assert area_fee(250, 8850) == 22_125
    assert area_fee(250, 8850, months=3) == 66_375


def test_a_price_change_inside_a_month_is_prorated_by_day_and_rounded_once() -> None:
    prices = [PricePoint(date(2026, 1, 1), 250), PricePoint(date(2027, 1, 16), 280)]
    exact = exact_area_fee(prices, 8850, date(2027, 1, 1), 1)
    assert exact == Fraction(22_125 * 15, 31) + Fraction(24_780 * 16, 31)  # 23,495.32...
    assert prorated_area_fee(prices, 8850, date(2027, 1, 1), 1) == 23_495


def test_tiered_use_is_priced_band_by_band() -> None:
    assert [(c.used, c.amount) for c in tiered_charges(Decimal(23), BANDS)] == [
        (Decimal(10), 3_000), (Decimal(10), 4_500), (Decimal(3), 1_800)
    ]  # fmt: skip
    assert tiered_fee(Decimal(23), BANDS) == 9_300
    assert tiered_fee(Decimal("10.25"), BANDS) == 3_000 + half_up(Fraction("0.25") * 450)  # 112.5 -> 113
    assert tiered_fee(Decimal(0), BANDS) == 0


def test_shared_use_is_split_to_add_up_exactly_ties_by_unit_number() -> None:
    assert split_exactly(1_000, {"1-101": 1, "1-102": 1, "1-103": 1}, ["1-101", "1-102", "1-103"]) == {
        "1-101": 334, "1-102": 333, "1-103": 333
    }  # fmt: skip


def test_a_late_fee_counts_the_days_after_the_grace_and_is_capped() -> None:
    assert late_days(date(2027, 3, 17), date(2027, 1, 31), 15) == 30
    assert late_fee(22_125, date(2027, 1, 31), date(2027, 3, 17), RULE) == 332  # 331.875
    assert late_fee(22_125, date(2027, 1, 31), date(2027, 2, 15), RULE) == 0  # within grace
    assert late_fee(22_125, date(2027, 1, 31), date(2037, 1, 31), RULE) == 6_637  # at most 30%: 6,637.5 down
    assert late_fee(22_125, date(2027, 1, 31), date(2037, 1, 31), None) == 0  # no contract, no late fee


def test_vacant_days_are_charged_at_the_vacancy_rate_by_day() -> None:
    prices = [PricePoint(date(2026, 1, 1), 250)]
    vacant = [Stretch(date(2027, 1, 1), date(2027, 1, 10))]
    fee = prorated_area_fee(prices, 8850, date(2027, 1, 1), 1, vacant, Decimal("0.50"))
    assert fee == half_up(Fraction(22_125 * 10, 31) * Fraction(1, 2) + Fraction(22_125 * 21, 31))


def test_a_reading_below_the_last_is_refused_unless_replaced_or_rolled_over() -> None:
    assert metered_use(Decimal("100.50"), Decimal("112.25"), "normal") == Decimal("11.75")
    with pytest.raises(ReadingRefused):
        metered_use(Decimal("100.50"), Decimal("99.00"), "normal")
    assert metered_use(Decimal(100), Decimal(4), "replacement", old_final=Decimal(110)) == Decimal(14)
    with pytest.raises(ReadingRefused):
        metered_use(Decimal(100), Decimal(4), "replacement")
    assert metered_use(Decimal("99990"), Decimal(15), "rollover") == Decimal(25)


areas = st.integers(1, 100_000)
prices_fen = st.integers(0, 2_000)
months = st.sampled_from([1, 3, 6, 12])
firsts = st.dates(date(2025, 1, 1), date(2030, 12, 1)).map(lambda d: d.replace(day=1))


@given(total=st.integers(-100_000, 1_000_000), weights=st.lists(st.integers(1, 20_000), min_size=1, max_size=30))
def test_shares_always_add_up_to_the_total_and_differ_from_exact_by_under_a_fen(total: int, weights: list[int]) -> None:
    keys = [f"u{n:03d}" for n in range(len(weights))]
    shares = split_exactly(total, dict(zip(keys, weights, strict=True)), keys)
    assert sum(shares.values()) == total
    for k, w in zip(keys, weights, strict=True):
        assert abs(shares[k] - Fraction(total * w, sum(weights))) < 1


@given(price=prices_fen, area=areas, first=firsts, n=months)
def test_a_price_history_with_no_change_gives_the_flat_amount(price: int, area: int, first: date, n: int) -> None:
    history = [PricePoint(first - timedelta(days=400), price), PricePoint(first - timedelta(days=30), price)]
    assert prorated_area_fee(history, area, first, n) == area_fee(price, area, n)


@given(
    principal=st.integers(0, 10_000_000),
    rate=st.decimals(Decimal("0"), Decimal("0.01"), places=4),
    cap=st.decimals(Decimal("0"), Decimal("1"), places=2),
    grace=st.integers(0, 60),
    late=st.integers(-100, 4_000),
)
def test_a_late_fee_never_passes_its_cap_and_is_nothing_within_grace(
    principal: int, rate: Decimal, cap: Decimal, grace: int, late: int
) -> None:
    due = date(2027, 1, 31)
    rule = LateFeeRule(rate, grace, cap)
    paid = due + timedelta(days=grace + late)
    fee = late_fee(principal, due, paid, rule)
    assert 0 <= fee <= principal * cap
    if late <= 0:
        assert fee == 0


@given(
    use=st.decimals(Decimal(0), Decimal(10_000), places=2),
    tops=st.lists(st.integers(1, 500), min_size=0, max_size=4, unique=True),
    rates=st.lists(st.integers(0, 2_000), min_size=5, max_size=5),
)
def test_tiered_bands_price_every_unit_of_use_once(use: Decimal, tops: list[int], rates: list[int]) -> None:
    bands = [Band(Decimal(t), r) for t, r in zip(sorted(tops), rates, strict=False)] + [Band(None, rates[-1])]
    charges = tiered_charges(use, bands)
    assert sum((c.used for c in charges), Decimal(0)) == use
    flat = [Band(None, 300)]
    assert tiered_fee(use, flat) == half_up(Fraction(use) * 300)


BASE = (Band(Decimal(10), 300), Band(None, 450))


def test_a_band_change_inside_a_period_prices_each_stretch_of_days_on_its_bands() -> None:
    """0-10 at 300, above at 450; from day 16 of 30, 0-10 at 400: 20 used -> 3,750 + 4,250."""
    later = (Band(Decimal(10), 400), Band(None, 450))
    stretches = [BandStretch(BASE, 15, 30), BandStretch(later, 15, 30)]
    charged = prorated_tiered_charges(Decimal(20), stretches)
    assert [(b.price_fen, used) for b, used, _ in charged] == [(300, 5), (450, 5), (400, 5), (450, 5)]
    assert sum(amount for *_, amount in charged) == 8_000


@given(use=st.decimals(0, 500, places=2), split=st.integers(1, 30))
def test_a_change_to_the_same_bands_prices_as_no_change(use: Decimal, split: int) -> None:
    whole = tiered_charges(use, BASE)
    one = prorated_tiered_charges(use, [BandStretch(BASE, 31, 31)])
    assert [(b, Fraction(u), a) for b, u, a in one] == [(c.band, Fraction(c.used), c.amount) for c in whole]
    two = prorated_tiered_charges(use, [BandStretch(BASE, split, 31), BandStretch(BASE, 31 - split, 31)])
    assert sum(a for *_, a in two) == sum(c.amount for c in whole)
