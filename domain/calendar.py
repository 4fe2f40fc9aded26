"""Date arithmetic in lot-local calendar days.

A card is valid through the whole of its `valid_until` day in the lot's time
zone, so every rule here works on `date`, never on instants.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def is_month_end(day: date) -> bool:
    return day == month_end(day)


def add_months(day: date, months: int) -> date:
    """Move `day` by whole months; clamp to the month's end (Jan 31 + 1 = Feb 28/29).

    A day that is its month's last day stays on month ends (Feb 28 + 1 = Mar 31),
    so a card that ends on month ends keeps doing so however often it is renewed.
    """
    moved = day + relativedelta(months=months)
    return month_end(moved) if is_month_end(day) else moved


def local_date(instant: datetime, timezone: str) -> date:
    """The calendar date at `instant` in `timezone`. `instant` must be aware."""
    if instant.tzinfo is None:
        raise ValueError("instant must carry a time zone (Lambda clocks are UTC)")
    return instant.astimezone(ZoneInfo(timezone)).date()
