"""The renewal quote: what a package buys for a card today, and whether it may.

The server quotes every order itself (a client's amount is never trusted), and
the owner sees the exact new end date before paying, so one function decides
both the period and the price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from domain.calendar import add_months, month_end
from domain.card import Card, CardState, PauseState
from domain.errors import PackageNotFound
from domain.lot import Lot, RenewalMode
from domain.package import Duration, DurationUnit, Package

ONE_DAY = timedelta(days=1)


class Refusal(StrEnum):
    """Why a quote is not allowed; the values are the API's reason codes."""

    EXCEEDS_MAX_RENEWAL_DATE = "exceeds_max_renewal_date"
    PACKAGE_DISABLED = "package_disabled"
    ONLINE_RENEWAL_DISABLED = "online_renewal_disabled"
    CARD_CANCELLED = "card_cancelled"


@dataclass(frozen=True)
class Quote:
    new_valid_from: date
    new_valid_until: date
    amount_fen: int
    allowed: bool
    reason: Refusal | None = None
    limit: date | None = None
    """The lot's maximum online renewal date today, when it has one."""


def quote(card: Card, package: Package, lot: Lot, today: date) -> Quote:
    if package.lot_id != lot.id:
        raise PackageNotFound(package.id)
    if card.lot_id != lot.id:
        raise ValueError("the card belongs to another lot")

    start = renewal_start(card, today)
    # A pause still to run already moved the end by its days: count the package from where the paid
    # period ends and move the new end by the same days, so resuming early gives back exactly the
    # unused days and the package keeps its length (renewing during a pause = renewing before it).
    shift = pause_ahead(card, today) if start > today else timedelta(0)
    if lot.policy.mode is RenewalMode.CALENDAR_MONTH and package.duration.unit is DurationUnit.MONTHS:
        until, amount = _calendar_months(start - shift, package.duration.count, package.price_fen)
    else:
        until, amount = period_end(start - shift, package.duration), package.price_fen
    until += shift

    limit = lot.policy.max_renewal_date(today)
    reason = _refusal(card, package, lot, until, limit)
    return Quote(start, until, amount, reason is None, reason, limit)


def renewal_start(card: Card, today: date) -> date:
    """A card whose period still covers today runs on from the day after it ends; a lapsed one starts today.

    Any state counts (an expired or paused card with days left keeps them), so
    a renewal never sells a day twice and never shortens what was paid.
    """
    if card.valid_until is not None and card.valid_until >= today:
        return card.valid_until + ONE_DAY
    return today


def pause_ahead(card: Card, today: date) -> timedelta:
    """The days a scheduled pause that is not over yet added to the card's end."""
    pause = card.open_pause(today)
    if pause is None or pause.state is not PauseState.SCHEDULED:
        return timedelta(0)
    return timedelta(days=pause.days)


def bought_until(start: date, package: Package, lot: Lot) -> date:
    """The last day `package` buys from `start` under the lot's renewal mode."""
    if lot.policy.mode is RenewalMode.CALENDAR_MONTH and package.duration.unit is DurationUnit.MONTHS:
        return _calendar_months(start, package.duration.count, package.price_fen)[0]
    return period_end(start, package.duration)


def period_end(start: date, duration: Duration) -> date:
    """The inclusive last day of `duration` bought from `start`."""
    if duration.unit is DurationUnit.DAYS:
        return start + timedelta(days=duration.count - 1)
    # Anchored on the day before the start, so a card that ended on a month end
    # (or a lapsed card starting on the 1st) keeps ending on month ends.
    return add_months(start - ONE_DAY, duration.count)


def _calendar_months(start: date, months: int, price_fen: int) -> tuple[date, int]:
    """Whole calendar months from the next 1st, plus the rest of this month priced by the day."""
    if start.day == 1:
        return month_end(add_months(start, months - 1)), price_fen
    days_in_month = month_end(start).day
    days_left = days_in_month - start.day + 1
    partial = _round_half_up(price_fen * days_left, months * days_in_month)
    return month_end(add_months(start, months)), price_fen + partial


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def _refusal(card: Card, package: Package, lot: Lot, until: date, limit: date | None) -> Refusal | None:
    if card.state is CardState.CANCELLED:
        return Refusal.CARD_CANCELLED
    if not lot.policy.online_renewal:
        return Refusal.ONLINE_RENEWAL_DISABLED
    if not package.enabled:
        return Refusal.PACKAGE_DISABLED
    if limit is not None and until > limit:
        return Refusal.EXCEEDS_MAX_RENEWAL_DATE
    return None
