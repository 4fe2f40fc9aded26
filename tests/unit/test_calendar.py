from datetime import UTC, date, datetime

import pytest

from domain.calendar import add_months, is_month_end, local_date, month_end


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 1, 30), 1, date(2026, 2, 28)),  # clamped
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 2, 28), 1, date(2026, 3, 31)),  # a month end stays a month end
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 28), 12, date(2029, 2, 28)),  # not a month end in 2028: plain move
        (date(2026, 4, 30), 1, date(2026, 5, 31)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 31), -1, date(2026, 11, 30)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_add_months_clamps_and_keeps_month_ends(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_month_end_chain_stays_on_month_ends_for_two_years() -> None:
    day = date(2026, 1, 31)
    for _ in range(24):
        day = add_months(day, 1)
        assert is_month_end(day), day
    assert day == date(2028, 1, 31)


def test_month_end_knows_leap_years() -> None:
    assert month_end(date(2028, 2, 3)) == date(2028, 2, 29)
    assert month_end(date(2100, 2, 3)) == date(2100, 2, 28)
    assert month_end(date(2000, 2, 3)) == date(2000, 2, 29)


def test_local_date_uses_the_lot_time_zone_not_utc() -> None:
    # 16:30 UTC on Dec 4 is already Dec 5 in Shanghai (UTC+8).
    instant = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
    assert local_date(instant, "Asia/Shanghai") == date(2026, 12, 5)
    assert local_date(instant, "UTC") == date(2026, 12, 4)


def test_local_date_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="time zone"):
        local_date(datetime(2026, 12, 4, 16, 30), "Asia/Shanghai")
