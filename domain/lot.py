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
            raise InvalidLot("max_months_ahead")

    def max_renewal_date(self, today: date) -> date | None:
        """The latest end date an online renewal may reach today; None if unlimited."""
        limits = [self.max_until] if self.max_until is not None else []
        if self.max_months_ahead is not None:
            limits.append(add_months(today, self.max_months_ahead))
        return min(limits, default=None)


class InvoiceProvider(StrEnum):
    """Which adapter issues a lot's invoices."""

    SIMULATOR = "simulator"
    """Issued automatically by the provider's API (locally its simulator)."""
    MANUAL = "manual"
    """The property issues elsewhere; the office enters the number and uploads the PDF."""


class Approval(StrEnum):
    AUTO = "auto"
    """An application is approved as it arrives (while the quota has room)."""
    MANUAL = "manual"
    """Applications wait in the manager's queue."""


@dataclass(frozen=True)
class CardPolicy:
    """How cards are applied for, paused and re-plated at this lot."""

    approval: Approval = Approval.MANUAL
    pay_within_days: int = 7
    """An approved card not paid for within this many days lapses and frees its place."""
    auto_pay_within_days: int = 1
    """The same for a card approved automatically (by the end of the next lot-local day, by default): nobody
    looked at it, so it may hold a place only briefly unpaid."""
    open_applications_per_owner: int = 2
    """Applications one owner may have waiting at the lot (in review, on the waitlist, or approved with the
    card not yet paid for): no one owner can take every place without paying."""
    pause_allowed: bool = False
    pause_min_days: int = 3
    pause_max_days: int = 90
    pauses_per_year: int = 2
    """Counted by the calendar year a pause starts in; a pause withdrawn before it began does not count."""
    pause_needs_approval: bool = False
    max_plates: int = 1
    """Plates one card may carry (一位多车); only one of them may be inside at a time."""
    plate_changes_per_month: int = 0
    """Plate swaps an owner may make per lot-local calendar month; 0: only the office changes plates."""
    grace_days: int = 0
    """Days after the end date the gates still open (reminders keep going meanwhile)."""

    def __post_init__(self) -> None:
        if not 1 <= self.pause_min_days <= self.pause_max_days <= 366:
            raise InvalidLot("pause_days")
        if self.pauses_per_year < 0 or self.plate_changes_per_month < 0:
            raise InvalidLot("allowances_negative")
        if not 1 <= self.max_plates <= 5:
            raise InvalidLot("max_plates")
        if not 0 <= self.grace_days <= 31 or not 1 <= self.pay_within_days <= 90:
            raise InvalidLot("grace_days")
        if not 1 <= self.auto_pay_within_days <= 90 or not 1 <= self.open_applications_per_owner <= 20:
            raise InvalidLot("application_limits")


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
    feed_epoch: str = ""
    """A random id made when the lot's feed starts (the lot is created); every message carries it, so a gate
    holding another feed's versions (the lot made again, a store lost) knows to take a fresh snapshot.
    "": a lot from before epochs, whose feed never restarted."""
    reminder_offsets: tuple[int, ...] = (5, 3, 1)
    """Days before a card ends that its owner is reminded."""
    reminder_hour: int = 10
    """Lot-local hour the reminders go out."""
    cards: CardPolicy = field(default_factory=CardPolicy)
    held: int = 0
    """Places taken by approved cards (pending, active, paused, expired); never more than `quota`."""
    invoice_provider: InvoiceProvider = InvoiceProvider.MANUAL
    tenant_id: str | None = None
    """The property company that runs the lot; its staff reach it."""
    receipt_seq: int = 0
    """The last receipt's number in the lot's chain (0: none yet)."""
    receipt_hash: str = ""
    """The last receipt's hash ("": the chain starts at the genesis hash)."""

    def __post_init__(self) -> None:
        checked_id("lot_id", self.id)
        if not self.name.strip():
            raise InvalidLot("lot_name")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise InvalidLot("time_zone", zone=self.timezone) from e
        if self.quota is not None and self.quota < 0:
            raise InvalidLot("quota_negative")
        if self.held < 0:
            raise InvalidLot("held_negative")
        if not 0 <= self.reminder_hour <= 23 or any(not 0 <= d <= 60 for d in self.reminder_offsets):
            raise InvalidLot("reminder_hours")

    def has_room(self) -> bool:
        return self.quota is None or self.held < self.quota

    def today(self, now: datetime) -> date:
        """The lot-local date at `now`: what "today" means for every card here."""
        return local_date(now, self.timezone)
