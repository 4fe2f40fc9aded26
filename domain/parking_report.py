"""What a lot's visits add up to for the office: cars inside by hour, visits, visitor revenue, the average stay.
Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.parking import ParkedVisit


@dataclass(frozen=True)
class DayReport:
    day: date
    visits: list[ParkedVisit]
    by_hour: list[int]
    """Cars inside at some time during each lot-local hour of the day, up to the hour under way (a day to come
    has none)."""
    visitor_revenue_fen: int
    average_stay_minutes: int | None


def report(timezone: str, day: date, visits: Sequence[ParkedVisit], earlier: Sequence[ParkedVisit],
           now: datetime) -> DayReport:  # fmt: skip
    """The day's figures from its visits (and earlier visits that may still have been inside when it began)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, datetime.min.time(), zone)
    by_hour = []
    unique = {v.id: v for v in (*earlier, *visits)}
    stays = [v for v in unique.values() if v.entered_at is not None and v.flag is None]
    for hour in range(24):
        begins, ends = start + timedelta(hours=hour), start + timedelta(hours=hour + 1)
        if begins > now:
            break
        by_hour.append(
            sum(1 for v in stays if v.entered_at and v.entered_at < ends and (v.left_at is None or v.left_at > begins))
        )
    done = [v for v in visits if v.entered_at is not None and v.left_at is not None]
    minutes = [(v.left_at - v.entered_at).total_seconds() / 60 for v in done if v.left_at and v.entered_at]
    average = round(sum(minutes) / len(minutes)) if minutes else None
    revenue = sum(v.paid_fen for v in visits if v.charged)
    return DayReport(day, list(visits), by_hour, revenue, average)
