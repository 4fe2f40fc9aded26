"""What a visitor's stay at the barrier costs (临时车收费), exact in fen. Pure.

A lot's rule has a price history (a new `starts` adds a rule, never edits one). A stay within the free minutes
is free; past them, every started period from entry costs the price of the rule in force when the period starts
(its night price when the period starts inside the night window, lot-local); each 24 hours from entry cost at
most the cap of the rule in force when those 24 hours start. Durations are absolute (UTC); the night window and
the day a rule starts are read in the lot's zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = timedelta(hours=24)


@dataclass(frozen=True)
class NightPrice:
    starts: time
    """22:00: periods starting from then..."""
    ends: time
    """...until 07:00 (the next morning when it is before `starts`) cost `price_fen`."""
    price_fen: int

    def __post_init__(self) -> None:
        if self.starts == self.ends or self.price_fen < 0:
            raise ValueError("a night window starts and ends at different times; its price is never negative")

    def holds(self, local: time) -> bool:
        if self.starts <= self.ends:
            return self.starts <= local < self.ends
        return local >= self.starts or local < self.ends


@dataclass(frozen=True)
class VisitorFeeRule:
    starts: date
    free_minutes: int
    period_minutes: int
    price_fen: int
    cap_fen_per_24h: int | None = None
    night: NightPrice | None = None

    def __post_init__(self) -> None:
        if self.free_minutes < 0 or self.period_minutes <= 0 or self.price_fen < 0:
            raise ValueError("free minutes, a period and a price are never negative (a period is never empty)")
        if self.cap_fen_per_24h is not None and self.cap_fen_per_24h < 0:
            raise ValueError("a cap is never negative")


def rule_on(rules: Sequence[VisitorFeeRule], day: date) -> VisitorFeeRule | None:
    """The rule in force on a lot-local day; None before the first."""
    found = None
    for rule in sorted(rules, key=lambda r: r.starts):
        if rule.starts > day:
            break
        found = rule
    return found


@dataclass(frozen=True)
class Charge:
    """One started period of the stay and its price (before the 24-hour cap)."""

    starts: datetime
    price_fen: int


def visitor_fee(rules: Sequence[VisitorFeeRule], entered: datetime, left: datetime, timezone: str) -> int:
    """The fee of a stay from `entered` to `left` (aware datetimes).

    Free 15 minutes, 500 fen per started hour, at most 3,000 per 24 hours: 10:00-10:14 -> 0; 10:00-12:01 -> 1,500;
    10:00 to 13:00 the next day -> 3,000 + 1,500 = 4,500."""
    # In UTC: Python subtracts two times of one zone by their wall clocks, which is wrong across a change of
    # summer time (a lot in China has none, but the rule must not depend on that).
    entered, left = entered.astimezone(UTC), left.astimezone(UTC)
    if left <= entered:
        return 0
    zone = ZoneInfo(timezone)
    first = rule_on(rules, entered.astimezone(zone).date())
    if first is None or left - entered <= timedelta(minutes=first.free_minutes):
        return 0  # no rule yet at entry: the lot did not charge visitors then
    total = 0
    window_start = entered
    while window_start < left:
        window_end = min(window_start + DAY, left)
        cap_rule = rule_on(rules, window_start.astimezone(zone).date()) or first
        owed = sum(c.price_fen for c in _charges(rules, entered, window_start, window_end, zone))
        total += owed if cap_rule.cap_fen_per_24h is None else min(owed, cap_rule.cap_fen_per_24h)
        window_start += DAY
    return total


def _charges(
    rules: Sequence[VisitorFeeRule], entered: datetime, start: datetime, end: datetime, zone: ZoneInfo
) -> list[Charge]:
    """The periods that start from `start` to before `end`, counted from entry (the period of the rule in force at
    entry sets the clock: a later rule changes the prices, not where the periods begin)."""
    base = rule_on(rules, entered.astimezone(zone).date())
    assert base is not None
    step = timedelta(minutes=base.period_minutes)
    n = max(0, -(-(start - entered) // step))  # the first period starting at or after `start`
    found = []
    at = entered + n * step
    while at < end:
        local = at.astimezone(zone)
        rule = rule_on(rules, local.date()) or base
        price = rule.night.price_fen if rule.night is not None and rule.night.holds(local.time()) else rule.price_fen
        found.append(Charge(at, price))
        at += step
    return found
