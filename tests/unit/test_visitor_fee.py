"""The visitor fee at the barrier: the issue's worked examples, night prices, a price change during a stay, lot
zones, and hypothesis properties (a longer stay never costs less; never above the cap per started 24 hours)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.visitor_fee import NightPrice, VisitorFeeRule, rule_on, visitor_fee

ZONE = "Asia/Shanghai"
TZ = ZoneInfo(ZONE)
RULE = VisitorFeeRule(date(2026, 12, 1), free_minutes=15, period_minutes=60, price_fen=500, cap_fen_per_24h=3_000)


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("left", "fen"),
    [
        (at(10, 10, 14), 0),  # within the free 15 minutes
        (at(10, 10, 15), 0),  # exactly the free minutes: still free
        (at(10, 10, 16), 500),  # past them: the first started hour from entry
        (at(10, 12, 0), 1_000),  # two whole hours
        (at(10, 12, 1), 1_500),  # a third one started
        (at(11, 13, 0), 4_500),  # 27 hours: 3,000 for the first 24 (capped), 1,500 for the next 3
    ],
)
def test_the_issue_s_examples(left: datetime, fen: int) -> None:
    assert visitor_fee([RULE], at(10, 10), left, ZONE) == fen


def test_night_periods_cost_the_night_price_by_the_lot_s_clock() -> None:
    night = VisitorFeeRule(date(2026, 12, 1), 15, 60, 500, None, NightPrice(time(22), time(7), 100))
    # 20:00 to 01:30: periods start 20, 21 (day: 500 each), 22, 23, 0, 1 (night: 100 each)
    assert visitor_fee([night], at(10, 20), at(11, 1, 30), ZONE) == 2 * 500 + 4 * 100
    # 06:30 to 08:00: 06:30 starts at night, 07:30 in the day
    assert visitor_fee([night], at(10, 6, 30), at(10, 8), ZONE) == 100 + 500
    # The same instants at a lot two hours behind (UTC+6): 18:00-23:30 there, 18-21 by day, 22 and 23 by night
    assert visitor_fee([night], at(10, 20), at(11, 1, 30), "Asia/Urumqi") == 4 * 500 + 2 * 100


def test_a_stay_is_priced_by_its_real_length_in_a_zone_with_or_without_summer_time() -> None:
    """China keeps no summer time: a lot's wall clock is its real time. Where clocks move (a lot abroad, Berlin on
    March 29th, 2026: 02:00 becomes 03:00), a stay is still priced by the hours that really passed."""
    berlin = ZoneInfo("Europe/Berlin")
    entered = datetime(2026, 3, 29, 1, 0, tzinfo=berlin)
    left = datetime(2026, 3, 29, 4, 30, tzinfo=berlin)  # 3.5 h on the wall, 2.5 h really
    assert left - entered == timedelta(hours=3, minutes=30)  # Python's aware arithmetic is by the wall...
    real = left.astimezone(TZ) - entered.astimezone(TZ)
    assert real == timedelta(hours=2, minutes=30)  # ...the instants are 2.5 h apart
    all_year = replace(RULE, starts=date(2026, 1, 1))
    assert visitor_fee([all_year], entered, left, "Europe/Berlin") == 3 * 500  # three started hours, not four
    shanghai = [visitor_fee([RULE], at(day, 10), at(day, 13, 30), ZONE) for day in (1, 15, 31)]
    assert shanghai == [2_000] * 3  # 3.5 h on any day of the year (no clock change): four started hours


def test_a_price_change_during_a_stay_prices_each_period_by_the_rule_of_its_start() -> None:
    dearer = VisitorFeeRule(date(2026, 12, 11), 15, 60, 800, 5_000)
    # From 22:00 on the 10th to 02:00 on the 11th: 22, 23 at 500, 0, 1 at 800
    assert visitor_fee([RULE, dearer], at(10, 22), at(11, 2), ZONE) == 2 * 500 + 2 * 800
    assert rule_on([RULE, dearer], date(2026, 11, 30)) is None
    assert visitor_fee([RULE], at(10, 10, month=11), at(10, 14, month=11), ZONE) == 0  # no rule yet: free


def test_a_rule_refuses_what_cannot_be_priced() -> None:
    with pytest.raises(ValueError):
        VisitorFeeRule(date(2026, 12, 1), 15, 0, 500)
    with pytest.raises(ValueError):
        VisitorFeeRule(date(2026, 12, 1), -1, 60, 500)


rules = st.builds(
    VisitorFeeRule,
    starts=st.just(date(2026, 12, 1)),
    free_minutes=st.integers(0, 60),
    period_minutes=st.sampled_from([15, 30, 60, 120]),
    price_fen=st.integers(0, 2_000),
    cap_fen_per_24h=st.none() | st.integers(0, 20_000),
    night=st.none() | st.builds(NightPrice, st.just(time(22)), st.just(time(7)), st.integers(0, 2_000)),
)


@given(rule=rules, entered=st.integers(0, 24 * 60), stay=st.integers(0, 4 * 24 * 60), more=st.integers(1, 24 * 60))
def test_a_longer_stay_never_costs_less_and_never_more_than_the_cap_per_started_24_hours(
    rule: VisitorFeeRule, entered: int, stay: int, more: int
) -> None:
    start = at(10, 0) + timedelta(minutes=entered)
    shorter = visitor_fee([rule], start, start + timedelta(minutes=stay), ZONE)
    longer = visitor_fee([rule], start, start + timedelta(minutes=stay + more), ZONE)
    assert 0 <= shorter <= longer
    if rule.cap_fen_per_24h is not None:
        started_days = -(-(stay + more) // (24 * 60))
        assert longer <= rule.cap_fen_per_24h * started_days
