"""Many due reminders at once, for the work queue's test and `make bench`: lots, owners (each with one subscribe
consent), cards, reminder preferences and one due reminder per card, written with BatchWriteItem (25 items a
request) so that 20,000 take seconds, not minutes. Each owner has one card, so the WeChat simulator's record tells
how often each reminder was sent: by the owner's openid."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from domain.reminder import ReminderChannel, Slot
from handlers.reminders import EXPIRY_TEMPLATE
from infra.dynamodb.reminders import DynamoReminderStore
from infra.dynamodb.repositories import DynamoLotRepository, card_item
from infra.dynamodb.tables import CardItem, ConsentItem, OwnerItem, ReminderItem, ReminderPrefsItem
from infra.work_queue import ConsumerKilled
from tests.builders import a_card, a_lot


def seed_due_reminders(n: int, at: datetime, lots: int = 20, prefix: str = "s") -> dict[str, str]:
    """`n` reminders due 10 minutes before `at`, 5 days before each card's end; answers {openid: card id}."""
    end = (at + timedelta(days=5)).date()
    repository = DynamoLotRepository()
    for n_lot in range(lots):
        repository.add(a_lot(lot_id=f"lot-{prefix}{n_lot}"))
    expected: dict[str, str] = {}
    with (
        OwnerItem.batch_write() as owners,
        ConsentItem.batch_write() as consents,
        ReminderPrefsItem.batch_write() as prefs,
        CardItem.batch_write() as cards,
        ReminderItem.batch_write() as reminders,
    ):
        for i in range(n):
            owner_id, openid, lot_id = f"owner-{prefix}{i}", f"openid-{prefix}{i}", f"lot-{prefix}{i % lots}"
            card = a_card(end, card_id=f"card-{prefix}{i}", owner_id=owner_id, lot_id=lot_id, version=1)
            owners.save(OwnerItem(owner_id=owner_id, openid=openid))
            consents.save(ConsentItem(owner_id=owner_id, template_id=EXPIRY_TEMPLATE, count=1))
            prefs.save(ReminderPrefsItem(card_id=card.id, enabled=True, channel=ReminderChannel.SUBSCRIBE.value))
            cards.save(card_item(card))
            slot = Slot(card.id, owner_id, lot_id, end, 5, (at - timedelta(minutes=10)).astimezone(UTC))
            reminders.save(ReminderItem(
                bucket=slot.bucket, slot=slot.key, card_id=card.id, owner_id=owner_id, lot_id=lot_id,
                cycle=end.isoformat(), offset=5, due_at=slot.due_at.isoformat(), state="pending",
            ))  # fmt: skip
            expected[openid] = card.id
    return expected


class DyingStore(DynamoReminderStore):
    """The reminder store of consumers that die: between two items, holding a claimed reminder before sending
    it, or after finishing one before the batch is answered. Never between WeChat's answer and the finish write:
    nothing can make that window exactly-once (WeChat keeps no idempotency key); the consumer leaves an item
    untouched when its invocation is near its end (functions/work.py), so only a crash can land there."""

    def __init__(self, lease: timedelta, rng: random.Random, p: float) -> None:
        super().__init__(lease)
        self._rng, self._p, self._lock = rng, p, threading.Lock()
        self.deaths: Counter[str] = Counter()

    def _maybe_die(self, where: str) -> None:
        with self._lock:
            dies = self._rng.random() < self._p
            if dies:
                self.deaths[where] += 1
        if dies:
            raise ConsumerKilled(where)

    def claim(self, slot: Slot, at: datetime) -> bool:
        self._maybe_die("between items")
        taken = super().claim(slot, at)
        if taken:
            self._maybe_die("holding a claim")
        return taken

    def finish(self, slot: Slot, state: str, reason: str | None = None) -> None:
        super().finish(slot, state, reason)
        self._maybe_die("after finishing")
