"""The money rules of property fees (物业费), exact: every amount is computed as a fraction and rounded once per bill,
half up, into integer fen.

Areas are hundredths of a square metre (88.50 m² -> 8850), readings and rates exact decimals (never floats). A
price in force is read per day, so a price change or a vacant stretch inside a period is prorated by day within each
month (a month's fee spread over its own days), whatever the month's length.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from dateutil.relativedelta import relativedelta

from domain.calendar import month_end

K = TypeVar("K", bound=Hashable)


def half_up(amount: Fraction) -> int:
    """Rounded to whole fen, halves away from zero (the only rounding a bill sees)."""
    whole = int(abs(amount) + Fraction(1, 2))
    return whole if amount >= 0 else -whole


def area_fee(price_fen_per_m2: int, area_hundredths: int, months: int = 1) -> int:
    """A flat price for whole months: 250 fen/m² on 88.50 m² -> 22,125 fen a month, 66,375 a quarter."""
    return half_up(Fraction(price_fen_per_m2 * area_hundredths, 100) * months)


@dataclass(frozen=True)
class PricePoint:
    """A price in force from a day on, until the next point (a price history is never edited in place)."""

    starts: date
    price_fen: int


@dataclass(frozen=True)
class Stretch:
    """Days from `first` to `last`, both included (a vacancy)."""

    first: date
    last: date

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


def price_on(prices: Sequence[PricePoint], day: date) -> int | None:
    """The price in force on `day`; None before the first point."""
    found = None
    for point in sorted(prices, key=lambda p: p.starts):
        if point.starts > day:
            break
        found = point.price_fen
    return found


def period_days(first_month: date, months: int) -> list[date]:
    start = first_month.replace(day=1)
    end = start + relativedelta(months=months)
    return [start + timedelta(days=n) for n in range((end - start).days)]


def prorated_area_fee(
    prices: Sequence[PricePoint],
    area_hundredths: int,
    first_month: date,
    months: int,
    vacant: Iterable[Stretch] = (),
    vacancy_rate: Decimal | None = None,
) -> int:
    """The area fee of a period of whole months with the prices in force each day, vacant days at the vacancy
    rate: each day costs its month's fee over the month's days. With one price and no vacancy it is `area_fee`.

    250 until 2027-01-15 and 280 from the 16th on 88.50 m² -> 22,125 * 15/31 + 24,780 * 16/31 -> 23,495 fen."""
    return half_up(exact_area_fee(prices, area_hundredths, first_month, months, vacant, vacancy_rate))


def exact_area_fee(
    prices: Sequence[PricePoint],
    area_hundredths: int,
    first_month: date,
    months: int,
    vacant: Iterable[Stretch] = (),
    vacancy_rate: Decimal | None = None,
) -> Fraction:
    stretches = list(vacant)
    rate = Fraction(vacancy_rate) if vacancy_rate is not None else Fraction(1)
    total = Fraction(0)
    for day in period_days(first_month, months):
        price = price_on(prices, day)
        if price is None:
            continue  # not charged before the item's first price
        daily = Fraction(price * area_hundredths, 100) / month_end(day).day
        total += daily * rate if any(s.holds(day) for s in stretches) else daily
    return total


@dataclass(frozen=True)
class Band:
    """Use up to `up_to` (cumulative, None: no limit) is priced at `price_fen` per unit of use."""

    up_to: Decimal | None
    price_fen: int


@dataclass(frozen=True)
class BandCharge:
    band: Band
    used: Decimal
    amount: Fraction


def tiered_charges(use: Decimal, bands: Sequence[Band]) -> list[BandCharge]:
    """Use priced band by band: bands 0-10 at 300, 10-20 at 450, above 20 at 600 fen; 23 -> 3,000 + 4,500 + 1,800."""
    if use < 0:
        raise ValueError("use is never negative")
    charges, below = [], Decimal(0)
    for band in bands:
        top = use if band.up_to is None else min(use, band.up_to)
        used = max(Decimal(0), top - below)
        if used > 0:
            charges.append(BandCharge(band, used, Fraction(used) * band.price_fen))
        if band.up_to is None or use <= band.up_to:
            return charges
        below = band.up_to
    raise ValueError("the last band must have no limit")


def tiered_fee(use: Decimal, bands: Sequence[Band]) -> int:
    return half_up(sum((c.amount for c in tiered_charges(use, bands)), Fraction(0)))


@dataclass(frozen=True)
class BandStretch:
    """Bands in force for `days` days of a period of `of_days`: a band change inside a period prices the use of
    those days (the use spread evenly over the period) on those bands, their limits shrunk to the days' share."""

    bands: tuple[Band, ...]
    days: int
    of_days: int


def prorated_tiered_charges(use: Decimal, stretches: Sequence[BandStretch]) -> list[tuple[Band, Fraction, Fraction]]:
    """(band, use priced in it, exact amount) over the stretches: with one stretch, `tiered_charges` exactly.
    bands 0-10 at 300, above at 450, changing to 0-10 at 400 on day 16 of 30, 20 used: days 1-15 price 10 (limit 5
    at 300, 5 at 450: 3,750), days 16-30 price 10 (limit 5 at 400, 5 at 450: 4,250) -> 8,000."""
    found = []
    for stretch in stretches:
        share = Fraction(stretch.days, stretch.of_days)
        left, below = Fraction(use) * share, Fraction(0)
        for band in stretch.bands:
            top = None if band.up_to is None else Fraction(band.up_to) * share
            used = left if top is None else max(Fraction(0), min(left, top - below))
            if used > 0:
                found.append((band, used, used * band.price_fen))
            left -= used
            if top is None or left <= 0:
                break
            below = top
    return found


def split_exactly(total_fen: int, weights: Mapping[K, int], order: Sequence[K]) -> dict[K, int]:
    """`total_fen` over the keys in proportion to their weights (an area, or 1 each), adding up to it exactly:
    each gets its share rounded down, and the fen left go one each to the largest remainders, ties in `order`
    (unit number). 1,000 fen over three equal units -> 334, 333, 333."""
    weight = sum(weights.values())
    if weight <= 0:
        raise ValueError("a split needs some weight")
    exact = {k: Fraction(total_fen * weights[k], weight) for k in order}
    shares = {k: int(exact[k]) for k in order}  # toward zero: the remainders share one sign with the total
    left = total_fen - sum(shares.values())
    step = 1 if left >= 0 else -1
    by_remainder = sorted(order, key=lambda k: (-abs(exact[k] - shares[k]), order.index(k)))
    for k in by_remainder[: abs(left)]:
        shares[k] += step
    return shares


def late_days(paid_on: date, due: date, grace_days: int) -> int:
    """Days late: from the day after the grace ends, never negative."""
    return max(0, (paid_on - (due + timedelta(days=grace_days))).days)


@dataclass(frozen=True)
class LateFeeRule:
    """A contract's late fee (滞纳金): only where the community's contract says so."""

    daily_rate: Decimal
    grace_days: int
    cap: Decimal
    """At most this share of the principal."""


def late_fee(principal_fen: int, due: date, paid_on: date, rule: LateFeeRule | None) -> int:
    """principal * daily rate * late days, rounded half up, never above principal * cap (rounded down, so it never
    passes it). 22,125 fen due 2027-01-31, 15 grace days, 0.05% a day, paid 2027-03-17: 30 days -> 332 fen."""
    if rule is None:
        return 0
    days = late_days(paid_on, due, rule.grace_days)
    owed = half_up(principal_fen * Fraction(rule.daily_rate) * days)
    return min(owed, int(principal_fen * Fraction(rule.cap)))


class ReadingRefused(ValueError):
    pass


def metered_use(last: Decimal, reading: Decimal, kind: str, old_final: Decimal | None = None) -> Decimal:
    """Use since the last reading. A reading below the last is refused unless the meter was replaced (the old
    meter's final reading counts up to it, the new one from 0) or rolled over past its last digits."""
    if kind == "normal":
        if reading < last:
            raise ReadingRefused("reading_below_last")
        return reading - last
    if kind == "replacement":
        if old_final is None or old_final < last or reading < 0:
            raise ReadingRefused("replacement_needs_old_final")
        return (old_final - last) + reading
    if kind == "rollover":
        if reading >= last:
            raise ReadingRefused("not_a_rollover")
        # The register turned past its last digit: a meter about to roll over shows as many digits as it has.
        digits = len(str(int(last)))
        return (Decimal(10) ** digits - last) + reading
    raise ReadingRefused("reading_kind")
