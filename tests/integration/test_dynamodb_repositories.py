"""The pynamodb adapters against moto's DynamoDB server over HTTP."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date

import pytest

from domain.card import Card, CardState
from domain.errors import StaleCard, StaleLot
from domain.lot import Lot, RenewalMode, RenewalPolicy
from domain.owner import Owner
from domain.plan import CardWrite, Plan
from functions.bootstrap import Services
from handlers.list_lot_packages import list_lot_packages
from handlers.ports import Gate
from infra.dynamodb.emulator import local_client
from infra.dynamodb.request_counter import DynamoRequestCounter
from infra.dynamodb.tables import TABLES, create_tables
from tests.builders import a_card, add_card, months
from tests.conftest import TEST_REGION


def test_lot_round_trips_with_its_policy(dynamo_services: Services) -> None:
    lot = Lot(
        id="lot-1",
        name="东门停车场",
        timezone="Asia/Urumqi",
        quota=80,
        policy=RenewalPolicy(RenewalMode.CALENDAR_MONTH, date(2027, 6, 30), 6, online_renewal=False),
    )
    assert dynamo_services.lots.add(lot)
    assert dynamo_services.lots.get("lot-1") == lot
    assert dynamo_services.lots.get("lot-2") is None


def test_add_never_overwrites(dynamo_services: Services) -> None:
    s = dynamo_services
    assert s.lots.add(Lot(id="lot-1", name="First"))
    assert not s.lots.add(Lot(id="lot-1", name="Second"))
    assert s.lots.get("lot-1").name == "First"  # type: ignore[union-attr]
    assert s.packages.add(months(1, 300_00))
    assert not s.packages.add(months(1, 1))
    assert s.packages.get("lot-1", "m1").price_fen == 300_00  # type: ignore[union-attr]
    assert s.owners.add(Owner("owner-1", "openid-1"))
    assert not s.owners.add(Owner("owner-1", "openid-2"))
    assert s.owners.get("owner-1") == Owner("owner-1", "openid-1")
    card = a_card(date(2026, 12, 3))
    assert add_card(s, card)
    assert not add_card(s, replace(card, valid_until=date(2030, 1, 1)))
    assert s.cards.get("card-1").valid_until == date(2026, 12, 3)  # type: ignore[union-attr]


def test_packages_are_listed_per_lot(dynamo_services: Services) -> None:
    s = dynamo_services
    for p in (months(1), months(3), months(12), months(1, lot_id="lot-2")):
        s.packages.add(p)
    assert sorted(p.id for p in s.packages.list_for_lot("lot-1")) == ["m1", "m12", "m3"]
    assert [p.lot_id for p in s.packages.list_for_lot("lot-2")] == ["lot-2"]
    assert s.packages.get("lot-1", "nope") is None


def test_card_round_trips_and_is_found_by_owner(dynamo_services: Services) -> None:
    s = dynamo_services
    card = a_card(date(2026, 12, 3), plates=("粤B12345", "粤BD12345"), valid_from=date(2026, 11, 4))
    add_card(s, card)
    add_card(s, a_card(None, state=CardState.PENDING, card_id="card-2"))
    add_card(s, a_card(date(2027, 1, 1), card_id="card-3", owner_id="owner-2"))

    stored = s.cards.get("card-1")
    assert stored == replace(card, version=1)
    assert [c.id for c in s.cards.list_for_owner("owner-1")] == ["card-1", "card-2"]
    assert s.cards.get("card-2").valid_until is None  # type: ignore[union-attr]
    assert s.cards.get("missing") is None


def rewrite(card: Card, read_version: int) -> Plan:
    """The smallest plan: the card written under the version it was read at."""
    return Plan(cards=(CardWrite(card, read_version),))


def test_optimistic_locking_rejects_a_stale_write(dynamo_services: Services) -> None:
    s = dynamo_services
    add_card(s, a_card(date(2026, 12, 3)))
    first, second = s.cards.get("card-1"), s.cards.get("card-1")
    assert first is not None and second is not None

    s.uow.commit(rewrite(replace(first, valid_until=date(2027, 3, 3)), first.version))
    with pytest.raises(StaleCard):
        s.uow.commit(rewrite(replace(second, state=CardState.EXPIRED), second.version))
    stored = s.cards.get("card-1")
    assert stored == replace(first, valid_until=date(2027, 3, 3), version=first.version + 1)


def test_concurrent_writers_from_one_read_have_exactly_one_winner(dynamo_services: Services) -> None:
    s = dynamo_services
    add_card(s, a_card(date(2026, 12, 3)))
    read = s.cards.get("card-1")
    assert read is not None
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def write(i: int) -> None:
        start.wait()
        try:
            s.uow.commit(rewrite(replace(read, valid_until=date(2027, 1, 1 + i)), read.version))
            outcomes.append("saved")
        except (StaleCard, StaleLot):  # StaleLot: DynamoDB cancelled colliding transactions
            outcomes.append("stale")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("saved") <= 1
    stored = s.cards.get("card-1")
    assert stored is not None and stored.version == read.version + outcomes.count("saved")


def test_price_list_costs_two_requests(dynamo_services: Services) -> None:
    s = dynamo_services
    s.lots.add(Lot(id="lot-1", name="A"))
    for n in (1, 3, 12):
        s.packages.add(months(n))
    with DynamoRequestCounter() as counter:
        price_list = list_lot_packages("lot-1", s.lots, s.packages)
    assert len(price_list.packages) == 3
    assert dict(counter.by_operation) == {"GetItem": 1, "Query": 1}
    assert (counter.items_read, counter.items_written) == (1 + 3, 0)  # the lot, its three packages


def test_owner_cards_cost_one_query(dynamo_services: Services) -> None:
    for i in range(3):
        add_card(dynamo_services, a_card(date(2026, 12, 3), card_id=f"card-{i}"))
    with DynamoRequestCounter() as counter:
        assert len(dynamo_services.cards.list_for_owner("owner-1")) == 3
    assert counter.total == 1
    assert counter.items_read == 3


def test_the_counter_counts_items_written_by_puts_and_transactions(dynamo_services: Services) -> None:
    s = dynamo_services
    s.lots.add(Lot(id="lot-1", name="A"))
    with DynamoRequestCounter() as counter:
        add_card(s, a_card(date(2026, 12, 3)))
        s.packages.add(months(1))
    # The lot read (by the test helper, then by the use case); one transaction: the card, its plate's claim,
    # the lot's counters, the gate event, three reminders and the audit entry; then the package.
    assert (counter.total, counter.items_read, counter.items_written) == (4, 2, 9)
    with DynamoRequestCounter() as missing:
        assert s.cards.get("no-such-card") is None
    assert (missing.total, missing.items_read) == (1, 0)


def test_table_creation_is_idempotent_and_declares_the_indexes(dynamodb: str) -> None:
    assert create_tables() == []
    client = local_client(dynamodb, TEST_REGION)
    names = client.list_tables()["TableNames"]
    assert sorted(names) == sorted(f"test-{m.suffix}" for m in TABLES)
    cards = client.describe_table(TableName="test-cards")["Table"]
    assert cards["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = sorted(i["IndexName"] for i in cards["GlobalSecondaryIndexes"])
    assert indexes == ["by_lot", "by_owner", "claim_key", "pause_queue", "running", "unpaid"]


def test_a_gates_reported_version_only_rises_whatever_order_reports_arrive_in(dynamo_services: Services) -> None:
    gates = dynamo_services.gates
    gates.add(Gate("gate-1", "lot-1", "s3cret"))
    start = threading.Barrier(8)

    def report(version: int) -> None:
        start.wait()
        gates.record_applied("gate-1", version, f"2026-11-23T10:00:0{version}+08:00")

    threads = [threading.Thread(target=report, args=(v,)) for v in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [version for _, version, _ in gates.sync_states("lot-1")] == [8]
    assert gates.record_applied("gate-1", 3, "late") is False
    assert gates.record_applied("gate-unknown", 9, "x") is False  # only gates that exist
    gates.record_sync("gate-1", 2, "2026-11-23T11:00:00+08:00")  # a delta sync says what it has, even if less
    assert [version for _, version, _ in gates.sync_states("lot-1")] == [2]


def test_a_reminder_s_card_preferences_owner_and_lot_are_one_request_and_the_lot_once_a_tick(
    dynamo_services: Services,
) -> None:
    from datetime import UTC, datetime

    from domain.reminder import ReminderChannel, ReminderPrefs, Slot
    from infra.dynamodb.reminders import DynamoReminderReads
    from infra.dynamodb.repositories import DynamoOwnerRepository

    s = dynamo_services
    s.lots.add(Lot(id="lot-1", name="一号车场"))
    for n in range(2):
        add_card(s, a_card(date(2026, 12, 3), card_id=f"card-{n}"))
        s.reminder_prefs.put(ReminderPrefs(f"card-{n}", True, ReminderChannel.SUBSCRIBE))
    s.owners.add(Owner("owner-1", "openid-1"))
    assert isinstance(s.owners, DynamoOwnerRepository)
    reads, lots = DynamoReminderReads(s.owners), {}
    due = datetime(2026, 11, 28, 2, tzinfo=UTC)
    with DynamoRequestCounter() as first:
        found = reads.for_reminder(Slot("card-0", "owner-1", "lot-1", date(2026, 12, 3), 5, due), lots)
    assert (found.card and found.card.id, found.prefs and found.prefs.enabled, found.owner and found.owner.openid,
            found.lot and found.lot.name) == ("card-0", True, "openid-1", "一号车场")  # fmt: skip
    assert dict(first.by_operation) == {"BatchGetItem": 1} and first.items_read == 4
    with DynamoRequestCounter() as second:
        again = reads.for_reminder(Slot("card-1", "owner-1", "lot-1", date(2026, 12, 3), 5, due), lots)
    assert again.lot is not None and second.total == 1 and second.items_read == 3  # the lot read once a tick
    gone = reads.for_reminder(Slot("card-9", "owner-9", "lot-1", date(2026, 12, 3), 5, due), lots)
    assert (gone.card, gone.prefs, gone.owner) == (None, None, None)


def test_a_container_keeps_the_wechat_token_it_read_for_at_most_five_minutes(dynamodb: str) -> None:
    from datetime import UTC, datetime, timedelta

    from infra.wechat.session_storage import DynamoSessionStorage
    from tests.fakes import FixedClock

    clock = FixedClock(datetime(2026, 11, 23, 2, tzinfo=UTC))
    mine, elsewhere = DynamoSessionStorage(clock), DynamoSessionStorage(clock)
    elsewhere.set("app_access_token", "token-1", ttl=7200)
    assert mine.get("app_access_token") == "token-1"
    with DynamoRequestCounter() as counter:
        assert mine.get("app_access_token") == "token-1"
    assert counter.total == 0  # kept: wechatpy asks before every call
    elsewhere.set("app_access_token", "token-2", ttl=7200)  # fetched anew in another container
    clock._now = clock.now() + timedelta(minutes=5, seconds=1)
    assert mine.get("app_access_token") == "token-2"
    elsewhere.set("short", "x", ttl=60)
    assert mine.get("short") == "x"
    clock._now = clock.now() + timedelta(seconds=61)
    assert mine.get("short") is None  # never past the value's own expiry
