"""Bill reminders: 3 days before a bill is due, and 1, 7 and 30 days after while it is unpaid; each once, none
after it is paid (or cancelled). Written when a bill is published, filed by the hour they fall due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.bill_run import Bill, BillState
from domain.reminder import SHARDS, shard_of

OFFSETS = (3, -1, -7, -30)
"""Days before the due date (negative: after it)."""
VISIT_OFFSET = 0
"""A collector's visit: its owner is reminded an hour before its slot (filed with the bills' reminders, so the one
tick sends both)."""
VISIT_NOTICE = timedelta(hours=1)
HOUR = 10
"""Sent at 10:00 in the community's zone."""


@dataclass(frozen=True)
class BillReminder:
    bill_id: str
    """The bill's id; for a collector's visit (`VISIT_OFFSET`), the booking's."""
    unit_id: str
    community_id: str
    due: date
    offset: int
    due_at: datetime
    """UTC."""

    @property
    def key(self) -> str:
        return f"{self.bill_id}#{self.offset}"

    @property
    def bucket(self) -> str:
        """Filed by the UTC day and a shard of the bill: a tick reads its look-back window with a query per shard
        (twice across midnight UTC); ten million bills a month spread over SHARDS keys a day."""
        return f"{day_bucket(self.due_at)}#{shard_of(self.bill_id)}"

    @property
    def sort(self) -> str:
        """In the day, by the instant it falls due."""
        return f"{self.due_at.astimezone(UTC).isoformat()}#{self.key}"


def day_bucket(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d")


def day_buckets(since: datetime, until: datetime) -> list[str]:
    """The buckets of the UTC days from `since` to `until`, both included: each day's shards."""
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    days = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    return [f"{day}#{n}" for day in days for n in range(SHARDS)]


def reminders_for(bill: Bill, timezone: str) -> tuple[BillReminder, ...]:
    zone = ZoneInfo(timezone)
    return tuple(
        BillReminder(bill.id, bill.unit_id, bill.community_id, bill.due_date, offset,
                     datetime.combine(bill.due_date - timedelta(days=offset), time(HOUR), zone).astimezone(UTC))
        for offset in OFFSETS
    )  # fmt: skip


def visit_reminder(booking_id: str, unit_id: str, community_id: str, slot: datetime) -> BillReminder:
    """An hour before a collector's visit (上门收费)."""
    return BillReminder(booking_id, unit_id, community_id, slot.date(), VISIT_OFFSET,
                        (slot - VISIT_NOTICE).astimezone(UTC))  # fmt: skip


def worth_sending(bill: Bill | None) -> bool:
    """A reminder goes out only while its bill is unpaid."""
    return bill is not None and bill.state is BillState.UNPAID


def reminder_text(reminder: BillReminder, lang: str = "zh") -> str:
    if reminder.offset > 0:
        return f"{reminder.offset} 天后到期 点击缴费" if lang != "en" else f"due in {reminder.offset} days"
    days = -reminder.offset
    return f"已逾期 {days} 天 请尽快缴费" if lang != "en" else f"{days} days overdue"
