"""A car park and the policy under which its cards may be renewed online."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.calendar import add_months, local_date
from domain.errors import InvalidLot
from domain.ids import checked_id

DEFAULT_TIMEZONE = "Asia/Shanghai"


class RenewalMode(StrEnum):
    CONTINUOUS = "continuous"
    """A renewal runs on from the card's end (or today), month by month."""
    CALENDAR_MONTH = "calendar_month"
    """A renewal ends on a month end; a first partial month is priced by the day."""


@dataclass(frozen=True)
class RenewalPolicy:
    mode: RenewalMode = RenewalMode.CONTINUOUS
    max_until: date | None = None
    """No online renewal may run past this date."""
    max_months_ahead: int | None = None
    """No online renewal may run further than this many months past today."""
    online_renewal: bool = True

    def __post_init__(self) -> None:
        if self.max_months_ahead is not None and self.max_months_ahead < 1:
            raise InvalidLot("max_months_ahead must be at least 1 month")

    def max_renewal_date(self, today: date) -> date | None:
        """The latest end date an online renewal may reach today; None if unlimited."""
        limits = [self.max_until] if self.max_until is not None else []
        if self.max_months_ahead is not None:
            limits.append(add_months(today, self.max_months_ahead))
        return min(limits, default=None)


@dataclass(frozen=True)
class Lot:
    id: str
    name: str
    timezone: str = DEFAULT_TIMEZONE
    policy: RenewalPolicy = field(default_factory=RenewalPolicy)
    quota: int | None = None
    """Spaces sold as monthly cards; None when the lot sets no limit."""
    entitlement_version: int = 0
    """The last version of the lot's gate feed: every change a gate must learn takes the next one."""
    reminder_offsets: tuple[int, ...] = (5, 3, 1)
    """Days before a card ends that its owner is reminded."""
    reminder_hour: int = 10
    """Lot-local hour the reminders go out."""

    def __post_init__(self) -> None:
        checked_id("lot_id", self.id)
        if not self.name.strip():
            raise InvalidLot("a lot needs a name")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise InvalidLot(f"unknown time zone {self.timezone!r}") from e
        if self.quota is not None and self.quota < 0:
            raise InvalidLot("quota cannot be negative")
        if not 0 <= self.reminder_hour <= 23 or any(not 0 <= d <= 60 for d in self.reminder_offsets):
            raise InvalidLot("reminders go out at an hour 0-23, 0-60 days before the end")

    def today(self, now: datetime) -> date:
        """The lot-local date at `now`: what "today" means for every card here."""
        return local_date(now, self.timezone)
