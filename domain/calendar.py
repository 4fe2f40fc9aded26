"""Date arithmetic in lot-local calendar days.

A card is valid through the whole of its `valid_until` day in the lot's time
zone, so every rule here works on `date`, never on instants.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
"""2026-11-01, 2026/11/01, 2026/11/1, 2026.11.1, 2026年11月1日."""


def written_day(text: str) -> date:
    """A day as people write it in a spreadsheet (Excel's slash dates, Chinese dates, an ISO time); ValueError."""
    text = text.strip()
    found = _DAY.fullmatch(text[:10] if "T" in text else text)
    if found is None:
        raise ValueError(text)
    return date(*(int(part) for part in found.groups()))


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
