"""Expiry reminders: when they fall due, and whether one is still worth sending.

Reminders are written ahead, one per (card, cycle, offset), where the cycle is
the card's end date when they were written. A renewal moves the end date, so
the old cycle's reminders become stale and the tick skips them: nobody is
reminded after renewing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.card import Card, CardState
from domain.lot import Lot
from domain.owner import Owner


class ReminderChannel(StrEnum):
    SUBSCRIBE = "subscribe"
    """A mini-program subscribe message: one per consent the owner gave."""
    OFFICIAL_ACCOUNT = "official_account"
    """An official-account template message: for owners who follow the account."""


@dataclass(frozen=True)
class ReminderPrefs:
    card_id: str
    enabled: bool
    channel: ReminderChannel = ReminderChannel.SUBSCRIBE


@dataclass(frozen=True)
class Slot:
    card_id: str
    owner_id: str
    lot_id: str
    cycle: date
    """The card's end date this reminder is about."""
    offset: int
    """Days before the end; negative in the lot's grace days after it."""
    due_at: datetime
    """UTC."""

    @property
    def day(self) -> date:
        """The lot-local day it is due on."""
        return self.cycle - timedelta(days=self.offset)

    @property
    def key(self) -> str:
        return f"{self.card_id}#{self.cycle.isoformat()}#{self.offset}"

    @property
    def bucket(self) -> str:
        return bucket_of(self.due_at, self.card_id)


SEND_LEASE = timedelta(minutes=2)
"""A consumer that died while sending gives the reminder back after this long: longer than a consumer lives (60 s,
serverless.yml) and shorter than the work queue's visibility timeout (6 minutes), so the message that comes again
finds it free."""

SHARDS = 8
"""A national platform's reminders of one hour (most lots remind at the same morning hour) are spread over this
many partition keys. The shard is chosen at write time from the card, so a reminder written again lands on the
same item. Changing the number strands what is filed under the old one."""


def shard_of(key: str) -> int:
    return zlib.crc32(key.encode()) % SHARDS


def hour_of(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H")


def bucket_of(instant: datetime, card_id: str) -> str:
    """Reminders are filed by the UTC hour they fall due in and a shard; a tick reads only the hours up to now."""
    return f"{hour_of(instant)}#{shard_of(card_id)}"


def buckets_of_hour(instant: datetime) -> list[str]:
    """Every shard of the hour (reminders filed before shards are moved to theirs by `parkpass shard-reminders`)."""
    hour = hour_of(instant)
    return [f"{hour}#{n}" for n in range(SHARDS)]


def slots_for(card: Card, lot: Lot) -> list[Slot]:
    """The reminders of the card's current cycle: `offsets` days before its end, at the lot's hour, lot-local,
    and one on each grace day after it (the gates still open, so the owner can still renew in time)."""
    if card.valid_until is None or card.state is not CardState.ACTIVE:
        return []
    zone = ZoneInfo(lot.timezone)
    offsets = (*lot.reminder_offsets, *(-d for d in range(1, lot.cards.grace_days + 1)))
    return [
        Slot(
            card.id,
            card.owner_id,
            card.lot_id,
            card.valid_until,
            offset,
            datetime.combine(card.valid_until - timedelta(days=offset), time(lot.reminder_hour), zone).astimezone(UTC),
        )
        for offset in offsets
    ]


def stale_reason(slot: Slot, card: Card | None, prefs: ReminderPrefs | None) -> str | None:
    """Why this reminder must not go out now, or None if it should."""
    if prefs is None or not prefs.enabled:
        return "opted_out"
    if card is None or card.state is CardState.CANCELLED:
        return "cancelled"
    if card.pause_on(slot.day) is not None:
        return "paused"
    if card.valid_until != slot.cycle:
        return "renewed"
    in_grace = slot.offset < 0 and card.state is CardState.EXPIRED
    if card.state is not CardState.ACTIVE and not in_grace:
        return "not_active"
    return None


@dataclass(frozen=True)
class ReminderContext:
    """What sending one reminder needs, read together: the card, its reminder preferences, its lot and the owner
    the reminder was scheduled for (None: gone)."""

    card: Card | None
    prefs: ReminderPrefs | None
    lot: Lot | None
    owner: Owner | None
