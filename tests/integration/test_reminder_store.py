"""Reminders in DynamoDB (moto's server): a tick reads only the due hours, and parallel ticks send once."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.card import Card, CardState
from domain.lot import Lot
from domain.owner import Owner
from domain.reminder import SHARDS, ReminderPrefs, bucket_of, slots_for
from functions.bootstrap import Services
from handlers.reminders import due_reminders, send_due_reminders
from infra.dynamodb.tables import ReminderItem
from tests.builders import add_card
from tests.fakes import FakeMessenger

NOW = datetime(2026, 12, 5, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai
LOT = Lot(id="lot-1", name="东门")


def due_cards(s: Services, n: int) -> None:
    """`n` opted-in cards whose 5-day reminder is due at 10:00 on Dec 5."""
    s.lots.add(LOT)
    for i in range(n):
        s.owners.add(Owner(f"owner-{i}", f"openid-{i}", oa_openid=f"oa-{i}"))
        card = Card(
            f"card-{i}",
            "lot-1",
            f"owner-{i}",
            (f"粤B{i:05d}",),
            date(2026, 11, 11),
            date(2026, 12, 10),
            CardState.ACTIVE,
        )
        add_card(s, card)
        s.reminder_prefs.put(ReminderPrefs(card.id, True))
        s.reminders.schedule(slots_for(card, LOT))


def tick(s: Services) -> list[str]:
    return send_due_reminders(
        NOW, s.reminders, s.cards, s.lots, s.reminder_prefs, s.owners, s.consents, s.messenger
    ).sent


def test_a_tick_over_100000_reminders_reads_only_the_50_that_are_due(dynamo_services: Services) -> None:
    s = replace(dynamo_services, messenger=FakeMessenger())
    due_cards(s, 50)
    # 100,000 other cards' reminders, due at other hours of the coming months.
    hours = [NOW + timedelta(hours=7 + h) for h in range(24 * 90)]
    # Written straight into the in-process emulator's table (through HTTP they took two minutes of the suite).
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from tests.conftest import TEST_REGION

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][TEST_REGION].get_table(ReminderItem.Meta.table_name)
    for i in range(100_000):
        at = hours[i % len(hours)]
        table.put_item({
            "bucket": {"S": bucket_of(at, f"card-x{i}")}, "slot": {"S": f"card-x{i}#2027-03-01#5"},
            "card_id": {"S": f"card-x{i}"}, "owner_id": {"S": "o"}, "lot_id": {"S": "lot-1"},
            "cycle": {"S": "2027-03-01"}, "offset": {"N": "5"}, "due_at": {"S": at.isoformat()},
            "state": {"S": "pending"},
        })  # fmt: skip
    assert ReminderItem.count(bucket_of(hours[0], "card-x0")) > 0  # the server sees them
    read: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        read.append(int(parsed.get("ScannedCount", 0)))

    events = ReminderItem._get_connection().connection.client.meta.events
    events.register("after-call.dynamodb.Query", count)
    try:
        assert len(tick(s)) == 50
    finally:
        events.unregister("after-call.dynamodb.Query", count)
    assert sum(read) == 50  # the due hour's items, nothing of the other 100,000
    assert len(read) == 7 * SHARDS  # a query per shard of each hour looked at (6 back and this one)


def test_two_ticks_at_once_send_each_reminder_once(dynamo_services: Services) -> None:
    messenger = FakeMessenger()
    s = replace(dynamo_services, messenger=messenger)
    due_cards(s, 20)
    start = threading.Barrier(2)
    sent: list[list[str]] = []

    def run() -> None:
        start.wait()
        sent.append(tick(s))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(k for keys in sent for k in keys) == sorted({k for keys in sent for k in keys})
    assert len(messenger.sent) == 20 and sum(len(k) for k in sent) == 20
    assert tick(s) == []


def test_reminders_filed_before_shards_are_moved_to_theirs_once_and_sent_once(dynamo_services: Services) -> None:
    from domain.bill_reminder import BillReminder
    from infra.dynamodb.migrations import shard_reminders
    from infra.dynamodb.tables import BillingItem

    s = replace(dynamo_services, messenger=FakeMessenger())
    due_cards(s, 2)
    first, second = (slots_for(s.cards.get(f"card-{i}"), LOT)[0] for i in range(2))  # type: ignore[arg-type]
    assert first.due_at <= NOW < first.due_at + timedelta(hours=1)
    for slot, state in ((first, "pending"), (second, "sent")):  # as written before shards
        ReminderItem(bucket=slot.bucket, slot=slot.key).delete()
        ReminderItem(bucket=slot.due_at.strftime("%Y-%m-%dT%H"), slot=slot.key, card_id=slot.card_id,
                     owner_id=slot.owner_id, lot_id=slot.lot_id, cycle=slot.cycle.isoformat(), offset=slot.offset,
                     due_at=slot.due_at.isoformat(), state=state).save()  # fmt: skip
    s.reminders.schedule([second])  # written again after the deploy, before the move (the tick was off): a twin
    bill = BillReminder("b1", "u1", "c1", date(2026, 12, 8), 3, NOW - timedelta(minutes=15))
    BillingItem(id=f"reminder#{bill.key}", kind="bill-reminder", key="bill-reminders#2026-12-05", sort=bill.sort,
                state="pending", body={"bill_id": "b1", "unit_id": "u1", "community_id": "c1", "due": "2026-12-08",
                                       "offset": 3, "due_at": bill.due_at.isoformat()}).save()  # fmt: skip
    # Where they are, the tick does not look.
    assert due_reminders(NOW, s.reminders) == [second] and s.billing.due_bill_reminders(NOW - timedelta(hours=6),
                                                                                        NOW) == []  # fmt: skip

    assert shard_reminders() == (2, 1)
    assert shard_reminders() == (0, 0)  # once
    assert tick(s) == [first.key]  # the sent one stays sent, though written again meanwhile
    assert s.billing.due_bill_reminders(NOW - timedelta(hours=6), NOW) == [(bill, "pending")]


def test_a_bill_reminder_left_sending_before_leases_is_taken_once(dynamo_services: Services) -> None:
    from domain.bill_reminder import BillReminder
    from infra.dynamodb.tables import BillingItem

    bill = BillReminder("b1", "u1", "c1", date(2026, 12, 8), 3, NOW - timedelta(minutes=15))
    BillingItem(id=f"reminder#{bill.key}", kind="bill-reminder", key=f"bill-reminders#{bill.bucket}", sort=bill.sort,
                state="sending", body={"bill_id": "b1", "unit_id": "u1", "community_id": "c1", "due": "2026-12-08",
                                       "offset": 3, "due_at": bill.due_at.isoformat()}).save()  # fmt: skip
    s = dynamo_services
    assert s.billing.due_bill_reminders(NOW - timedelta(hours=6), NOW) == [(bill, "pending")]
    assert s.billing.claim_bill_reminder(bill, NOW) and not s.billing.claim_bill_reminder(bill, NOW)
